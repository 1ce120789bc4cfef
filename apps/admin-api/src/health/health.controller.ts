import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { z } from 'zod';
import { indicator, PostgresProbe, TemporalProbe } from '@concentra/observability';
import { Public } from '../auth/roles';
import { Answers, record } from '../http/answers';
import { Ungated } from '../http/dependency-gate.interceptor';

/**
 * Liveness (the process answers) and readiness (PostgreSQL and Temporal answer). A dependency that
 * is down makes readiness a 503 with Retry-After (the problem filter adds it to every 503).
 */
/** Terminus's answer (its @HealthCheck decorator is not used: it attaches swagger responses by hand): `status`, and per dependency (`postgresql`, `temporal`) whether it is up. */
const Readiness = record({ status: z.literal('ok'), info: record({}), details: record({}) });

@ApiTags('health')
@Controller('health')
@Ungated()
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(PostgresProbe) private readonly postgres: PostgresProbe,
    @Inject(TemporalProbe) private readonly temporal: TemporalProbe,
  ) {}

  @Get('live')
  @Public()
  @Answers(z.object({ status: z.literal('ok') }))
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  @Header('Cache-Control', 'no-cache, no-store, must-revalidate')
  @Answers(Readiness)
  ready() {
    return this.health.check([() => indicator(this.indicators, this.postgres), () => indicator(this.indicators, this.temporal)]);
  }

  /** The readiness answer, where it has always been. */
  @Get()
  @Public()
  @Header('Cache-Control', 'no-cache, no-store, must-revalidate')
  @Answers(Readiness)
  check() {
    return this.ready();
  }
}
