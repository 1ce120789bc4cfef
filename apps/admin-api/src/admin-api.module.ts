import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { Connection } from '@temporalio/client';
import { DataSource } from 'typeorm';
import { ConfigModule } from '@concentra/config';
import { PostgresProbe, TemporalProbe } from '@concentra/observability';
import { PersistenceModule } from '@concentra/persistence';
import { TemporalClientModule } from '@concentra/temporal';
import { AuditModule } from './audit/audit.module';
import { AuthGuard } from './auth/auth.guard';
import { JwksKeys } from './auth/jwks';
import { CycleCommandsModule } from './commands/cycle-commands.module';
import { CyclesController } from './cycles/cycles.controller';
import { EvaluationApiModule } from './evaluation/evaluation-api.module';
import { GpuApiModule } from './gpu/gpu-api.module';
import { NotificationsApiModule } from './notifications/notifications-api.module';
import { CyclesService } from './cycles/cycles.service';
import { HealthController } from './health/health.controller';
import { DependencyGateInterceptor } from './http/dependency-gate.interceptor';
import { ProblemFilter } from './http/problem.filter';
import { InputHygieneInterceptor } from './http/input-hygiene.interceptor';
import { LogContextInterceptor } from './http/log-context.interceptor';
import { TemporalDeadlineInterceptor } from './http/temporal-deadline.interceptor';
import { MetricsController } from './metrics/metrics.controller';
import { AddressThrottleGuard, EdgeThrottlerModule, PrincipalThrottleGuard } from './http/throttle';
import { ProgramsController } from './programs/programs.controller';
import { ProgramsService } from './programs/programs.service';

@Module({
  imports: [TerminusModule, ConfigModule, PersistenceModule, TemporalClientModule, CycleCommandsModule, AuditModule, GpuApiModule, NotificationsApiModule, EvaluationApiModule, EdgeThrottlerModule],
  controllers: [HealthController, MetricsController, ProgramsController, CyclesController],
  providers: [
    ProgramsService,
    CyclesService,
    JwksKeys,
    // In this order: the address is counted before the token is checked, the principal after.
    { provide: APP_GUARD, useClass: AddressThrottleGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: PrincipalThrottleGuard },
    { provide: APP_FILTER, useClass: ProblemFilter },
    { provide: PostgresProbe, inject: [DataSource], useFactory: (db: DataSource) => new PostgresProbe('postgresql', () => db.query('SELECT 1')) },
    { provide: TemporalProbe, inject: [Connection], useFactory: (c: Connection) => new TemporalProbe('temporal', () => c.healthService.check({})) },
    { provide: APP_INTERCEPTOR, useClass: LogContextInterceptor },
    { provide: APP_INTERCEPTOR, useClass: DependencyGateInterceptor },
    // In this order, before any controller's interceptor (the audit access log among them).
    { provide: APP_INTERCEPTOR, useClass: InputHygieneInterceptor },
    { provide: APP_INTERCEPTOR, useClass: TemporalDeadlineInterceptor },
  ],
})
export class AdminApiModule {}
