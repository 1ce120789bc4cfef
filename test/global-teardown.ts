export default async function globalTeardown(): Promise<void> {
  for (const stop of (globalThis.__concentraStops ?? []).reverse()) await stop();
}
