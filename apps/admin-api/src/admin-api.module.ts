import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ConfigModule } from '@concentra/config';
import { PersistenceModule } from '@concentra/persistence';
import { TemporalClientModule } from '@concentra/temporal';
import { AuditModule } from './audit/audit.module';
import { AuthGuard } from './auth/auth.guard';
import { CycleCommandsModule } from './commands/cycle-commands.module';
import { CyclesController } from './cycles/cycles.controller';
import { GpuApiModule } from './gpu/gpu-api.module';
import { CyclesService } from './cycles/cycles.service';
import { HealthController } from './health/health.controller';
import { ProblemFilter } from './http/problem.filter';
import { InputHygieneInterceptor } from './http/input-hygiene.interceptor';
import { TemporalDeadlineInterceptor } from './http/temporal-deadline.interceptor';
import { AddressThrottleGuard, EdgeThrottlerModule, PrincipalThrottleGuard } from './http/throttle';
import { ProgramsController } from './programs/programs.controller';
import { ProgramsService } from './programs/programs.service';

@Module({
  imports: [ConfigModule, PersistenceModule, TemporalClientModule, CycleCommandsModule, AuditModule, GpuApiModule, EdgeThrottlerModule],
  controllers: [HealthController, ProgramsController, CyclesController],
  providers: [
    ProgramsService,
    CyclesService,
    // In this order: the address is counted before the token is checked, the principal after.
    { provide: APP_GUARD, useClass: AddressThrottleGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: PrincipalThrottleGuard },
    { provide: APP_FILTER, useClass: ProblemFilter },
    // In this order, before any controller's interceptor (the audit access log among them).
    { provide: APP_INTERCEPTOR, useClass: InputHygieneInterceptor },
    { provide: APP_INTERCEPTOR, useClass: TemporalDeadlineInterceptor },
  ],
})
export class AdminApiModule {}
