import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { indicator, PostgresProbe, TemporalProbe } from '@concentra/observability';
import { Public } from '../auth/roles';
import { Ungated } from '../http/dependency-gate.interceptor';

/**
 * Liveness (the process answers) and readiness (PostgreSQL and Temporal answer). A dependency that
 * is down makes readiness a 503 with Retry-After (the problem filter adds it to every 503).
 */
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
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  @HealthCheck()
  ready() {
    return this.health.check([() => indicator(this.indicators, this.postgres), () => indicator(this.indicators, this.temporal)]);
  }

  /** The readiness answer, where it has always been. */
  @Get()
  @Public()
  @HealthCheck()
  check() {
    return this.ready();
  }
}
