import { Module } from '@nestjs/common';
import { ConfigModule } from '@concentra/config';
import { PersistenceModule } from '@concentra/persistence';
import { TemporalClientModule } from '@concentra/temporal';
import { AuditAccessInterceptor } from './audit-access';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/** The auditor's read-only endpoints under /v1/audit. */
@Module({
  imports: [ConfigModule, PersistenceModule, TemporalClientModule],
  controllers: [AuditController],
  providers: [AuditService, AuditAccessInterceptor],
})
export class AuditModule {}
