import { z } from 'zod';
import type { ClientConfigProfile } from '@temporalio/envconfig';
import { resolveTemporalConnection } from './temporal-connection';

const port = z.coerce.number().int().min(1).max(65_535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Every environment variable Concentra reads, with the default that gives the embedded local run.
 * The README's configuration table is this schema in prose; keep them together. The Temporal
 * connection (address, namespace, TLS, API key, profiles) is read by the SDK's own rules:
 * temporal-connection.ts.
 */
export const EnvironmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('program-cycles'),
    /** A workflow bundle built ahead (`npm run build` writes dist/workflow-bundle.js, the production default): the worker starts without webpack, on exactly that code. */
    WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
    API_HOST: z.string().default('127.0.0.1'),
    API_PORT: port.default(3000),
    /** The worker's own HTTP listener: /metrics, /health/live, /health/ready. */
    WORKER_HTTP_HOST: z.string().default('127.0.0.1'),
    WORKER_HTTP_PORT: port.default(3001),
    /** Where the Temporal SDK's own Prometheus exporter listens (the worker's /metrics includes it). */
    WORKER_SDK_METRICS_PORT: port.default(3002),
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    AUTH_JWT_ISSUER: z.string().min(1).default('concentra'),
    LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    MIGRATIONS_RUN: bool.default(true),
    SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production') {
      for (const key of ['DATABASE_URL', 'AUTH_JWT_SECRET'] as const) {
        if (!env[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required in production' });
      }
    }
  });

export type Environment = z.infer<typeof EnvironmentSchema> & {
  /** Resolved: the standard variable, else the TOML profile, else 127.0.0.1:7233. */
  TEMPORAL_ADDRESS: string;
  /** Resolved: the standard variable, else the TOML profile, else `default`. */
  TEMPORAL_NAMESPACE: string;
  /** The whole connection profile as the SDK read it (TLS, API key, gRPC metadata). */
  temporal: ClientConfigProfile;
};

/** The development signing key: tokens it signs are refused whenever NODE_ENV=production. */
export const DEVELOPMENT_JWT_SECRET = 'concentra-development-secret-not-for-production-use';

export class EnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads and validates the whole environment at once, so one message lists every bad variable. */
export function loadEnvironment(source: NodeJS.ProcessEnv = process.env): Environment {
  const relevant = Object.fromEntries(
    Object.keys(EnvironmentSchema.shape).flatMap((key) =>
      source[key] === undefined || source[key] === '' ? [] : [[key, source[key]]],
    ),
  );
  const parsed = EnvironmentSchema.safeParse(relevant);
  const temporal = resolveTemporalConnection(source);
  const problems = [
    ...(parsed.error?.issues ?? []).map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    ...temporal.problems,
  ];
  if (!parsed.success || !temporal.connection) throw new EnvironmentError(problems);
  const { address, namespace, profile } = temporal.connection;
  return { ...parsed.data, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, temporal: profile };
}

export function jwtSecret(env: Environment): string {
  return env.AUTH_JWT_SECRET ?? DEVELOPMENT_JWT_SECRET;
}
