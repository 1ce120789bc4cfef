// Builds the console into dist/console (npm run build); the admin API serves it under /console.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: '../../dist/console',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    // React Query's "use client" directives mean nothing in a plain client bundle.
    rollupOptions: { onwarn: (warning, warn) => (warning.code === 'MODULE_LEVEL_DIRECTIVE' ? undefined : warn(warning)) },
  },
});
