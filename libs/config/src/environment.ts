import { z } from 'zod';
import type { ClientConfigProfile } from '@temporalio/envconfig';
import { resolveTemporalConnection } from './temporal-connection';

const port = z.coerce.number().int().min(1).max(65_535);
const count = z.coerce.number().int().min(1).max(100_000_000);
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
    /** Worker Deployment Versioning: off, auto-upgrade or pinned; default auto-upgrade in production, off elsewhere (see workerVersioning). */
    WORKER_VERSIONING: z.enum(['off', 'auto-upgrade', 'pinned']).optional(),
    /** The Worker Deployment the worker's versions belong to (no dots: the server joins name and build id with one). */
    WORKER_DEPLOYMENT_NAME: z.string().regex(/^[\w-]{1,200}$/, 'letters, digits, _ and - only').default('concentra'),
    /** The worker's build id; default: a hash of the workflow bundle it runs. */
    WORKER_BUILD_ID: z.string().regex(/^[\w.+-]{1,200}$/, 'letters, digits, _ . + and - only').optional(),
    /** A new version makes itself current once it polls (never over a newer one); false: an operator promotes it. */
    WORKER_PROMOTE_ON_START: bool.default(true),
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
    /** Requests one principal (role and subject) may make per window; default: see rateLimits(). */
    RATE_LIMIT_PER_PRINCIPAL: count.optional(),
    /** Requests one client address may make per window, with or without a token. */
    RATE_LIMIT_PER_ADDRESS: count.optional(),
    RATE_LIMIT_WINDOW_SECONDS: count.default(60),
    /*
     * Tracing, by the OpenTelemetry specification's variables: off unless an exporter or an OTLP
     * endpoint is given (see tracesExporter in libs/observability). OTLP goes over HTTP in JSON;
     * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS and OTEL_BSP_* are read
     * by the OpenTelemetry SDK itself.
     */
    OTEL_SDK_DISABLED: bool.optional(),
    OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/json'], { message: 'only http/json is shipped (OTLP over HTTP in JSON)' }).optional(),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/json'], { message: 'only http/json is shipped (OTLP over HTTP in JSON)' }).optional(),
    /** An OpenID Connect provider whose tokens the API accepts besides its own (issuer URL, as in the tokens' `iss`). */
    OIDC_ISSUER: z.url().optional(),
    /** Its JWKS; default: `jwks_uri` from the issuer's /.well-known/openid-configuration. */
    OIDC_JWKS_URL: z.url().optional(),
    /** The `aud` the provider's tokens must carry (this API's client id). Required with OIDC_ISSUER. */
    OIDC_AUDIENCE: z.string().min(1).optional(),
    OIDC_ROLE_CLAIM: z.string().min(1).default('role'),
    OIDC_ORG_CLAIM: z.string().min(1).default('org'),
    /** The built web console the API serves under /console (default: dist/console of this checkout). */
    CONSOLE_DIR: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.OIDC_ISSUER && !env.OIDC_AUDIENCE) ctx.addIssue({ code: 'custom', path: ['OIDC_AUDIENCE'], message: 'is required with OIDC_ISSUER' });
    if (env.NODE_ENV === 'production') {
      for (const key of ['DATABASE_URL', 'AUTH_JWT_SECRET'] as const) {
        if (!env[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required in production' });
      }
      if (isDevelopmentKey(env.AUTH_JWT_SECRET)) {
        ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_SECRET'], message: 'is the published development key, which production refuses' });
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

/** The development key, give or take surrounding blanks: anyone can sign tokens with it. */
function isDevelopmentKey(secret: string | undefined): boolean {
  return secret?.trim() === DEVELOPMENT_JWT_SECRET;
}

/**
 * The key bearer tokens are checked with. In production the development key is refused here too,
 * whatever the variables say (an environment object built without loadEnvironment included).
 */
export function jwtSecret(env: Environment): string {
  const secret = env.AUTH_JWT_SECRET ?? DEVELOPMENT_JWT_SECRET;
  if (env.NODE_ENV === 'production' && isDevelopmentKey(secret)) throw new EnvironmentError(['AUTH_JWT_SECRET: is the published development key, which production refuses']);
  return secret;
}

/** Generous defaults under tests (NODE_ENV=test), where many clients share one loopback address. */
const RATE_LIMIT_DEFAULTS = { principal: { test: 1_000_000, other: 600 }, address: { test: 1_000_000, other: 1_200 } };

/** Requests per window per principal and per address: the variables, else the defaults for NODE_ENV. */
export function rateLimits(env: Environment): { windowMs: number; perPrincipal: number; perAddress: number } {
  const which = env.NODE_ENV === 'test' ? 'test' : 'other';
  return {
    windowMs: env.RATE_LIMIT_WINDOW_SECONDS * 1000,
    perPrincipal: env.RATE_LIMIT_PER_PRINCIPAL ?? RATE_LIMIT_DEFAULTS.principal[which],
    perAddress: env.RATE_LIMIT_PER_ADDRESS ?? RATE_LIMIT_DEFAULTS.address[which],
  };
}

/** Worker Deployment Versioning as set, else auto-upgrade in production (a rolling deploy cuts over by version) and off elsewhere. */
export function workerVersioning(env: Pick<Environment, 'WORKER_VERSIONING' | 'NODE_ENV'>): 'off' | 'auto-upgrade' | 'pinned' {
  return env.WORKER_VERSIONING ?? (env.NODE_ENV === 'production' ? 'auto-upgrade' : 'off');
}
