import { Controller, Get, Header, Inject, Param, Query, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { AuditAccessInterceptor } from './audit-access';
import { AuditService } from './audit.service';
import { Answers } from '../http/answers';
import { CycleAsOfAnswer } from '../programs/programs.answers';
import { AccessLogAnswer, AuditTimelineAnswer, CrossCheckAnswer, ExportAnswer, RederiveAnswer, VerifyAllAnswer, VerifyCycleAnswer } from './audit.answers';

/** Query parameters of the audit routes. */
const QuerySchemas = {
  asOf: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp, e.g. 2027-03-01T12:00:00Z' }),
  date: z.iso.date({ message: 'must be a date, e.g. 2027-03-01' }),
};

/** The auditor's tools over HTTP: read-only, and every call is itself recorded. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
@UseInterceptors(AuditAccessInterceptor)
export class AuditController {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  @Get('cycles/:id/timeline')
  @Allow('auditor', 'program_manager')
  @Answers(AuditTimelineAnswer)
  @ApiOperation({ summary: 'Who did what when, under which policy: the cycle and its grants, from the events' })
  timeline(@Param('id') id: string) {
    return this.audit.timeline(id);
  }

  @Get('cycles/:id/verify')
  @Allow('auditor', 'program_manager')
  @Answers(VerifyCycleAnswer)
  @ApiOperation({ summary: "Recompute the hash chains of the cycle's and its grants' streams; the first broken link if any" })
  verifyCycle(@Param('id') id: string) {
    return this.audit.verifyCycle(id);
  }

  @Get('verify')
  @Allow('auditor')
  @Answers(VerifyAllAnswer)
  @ApiOperation({ summary: 'Recompute every hash of every stream in the store; the first broken link if any' })
  verifyAll() {
    return this.audit.verifyAll();
  }

  @Get('cycles/:id/rederive')
  @Allow('auditor', 'program_manager')
  @Answers(RederiveAnswer)
  @ApiOperation({ summary: 'Recompute every decision with the domain rules from the inputs the events record, and list differences' })
  rederive(@Param('id') id: string) {
    return this.audit.rederive(id);
  }

  @Get('cycles/:id/state')
  @Allow('auditor', 'program_manager')
  @Answers(CycleAsOfAnswer)
  @ApiOperation({ summary: 'The cycle as its events say it was at a moment (asOf), from the events alone' })
  state(@Param('id') id: string, @Query('asOf', new ZodPipe(QuerySchemas.asOf)) asOf: string) {
    return this.audit.stateAsOf(id, asOf);
  }

  @Get('cycles/:id/export')
  @Allow('auditor')
  @Answers(ExportAnswer)
  @Header('Content-Disposition', 'attachment')
  @ApiOperation({ summary: 'One bundle: Temporal histories of the cycle and its grants, domain events, policies, manifest of hashes' })
  export(@Param('id') id: string, @CurrentPrincipal() who: Principal) {
    return this.audit.export(id, `${who.role}:${who.sub}`);
  }

  @Get('cycles/:id/cross-check')
  @Allow('auditor')
  @Answers(CrossCheckAnswer)
  @ApiOperation({ summary: 'Every decision in the Temporal histories has its domain event, and every domain event its workflow step' })
  crossCheck(@Param('id') id: string) {
    return this.audit.crossCheck(id);
  }

  @Get('access-log')
  @Allow('auditor')
  @Answers(AccessLogAnswer)
  @ApiOperation({ summary: 'Who used the audit endpoints on a day (UTC)' })
  accessLog(@Query('date', new ZodPipe(QuerySchemas.date)) date: string) {
    return this.audit.accessLog(date);
  }
}
