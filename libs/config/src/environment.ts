import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65_535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Every environment variable Concentra reads, with the default that gives the embedded local run.
 * The README's configuration table is this schema in prose; keep them together.
 */
export const EnvironmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('program-cycles'),
    TEMPORAL_TLS_CERT_PATH: z.string().optional(),
    TEMPORAL_TLS_KEY_PATH: z.string().optional(),
    TEMPORAL_API_KEY: z.string().optional(),
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
    if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
      ctx.addIssue({ code: 'custom', path: ['TEMPORAL_TLS_KEY_PATH'], message: 'cert and key go together' });
    }
  });

export type Environment = z.infer<typeof EnvironmentSchema>;

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
  if (!parsed.success) {
    throw new EnvironmentError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

export function jwtSecret(env: Environment): string {
  return env.AUTH_JWT_SECRET ?? DEVELOPMENT_JWT_SECRET;
}
