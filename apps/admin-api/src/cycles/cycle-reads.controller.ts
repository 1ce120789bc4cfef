import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { CycleReadsService } from './cycle-reads.service';
import { Answers } from '../http/answers';
import { ApplicationsAnswer, AwardeesAnswer, GrantsAnswer, OwedAnswer, RankingsAnswer, StateAnswer, TimelineAnswer } from './cycle-reads.answers';

/** What a cycle has done and where it stands, filtered by who asks. */
@ApiTags('cycles')
@ApiBearerAuth()
@Controller('v1/cycles/:id')
export class CycleReadsController {
  constructor(@Inject(CycleReadsService) private readonly reads: CycleReadsService) {}

  @Get('timeline')
  @Allow('program_manager', 'auditor')
  @Answers(TimelineAnswer)
  @ApiOperation({ summary: "The cycle's events in order, each with a readable sentence" })
  timeline(@Param('id') id: string) {
    return this.reads.timeline(id);
  }

  @Get('state')
  @Allow('program_manager', 'auditor')
  @Answers(StateAnswer)
  @ApiOperation({ summary: "The cycle's whole state (live Query, or folded from its events once the workflow is gone)" })
  state(@Param('id') id: string) {
    return this.reads.state(id);
  }

  @Get('applications')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(ApplicationsAnswer)
  @ApiOperation({ summary: "Applications (applicants see only their own organisation's)" })
  applications(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    return this.reads.applications(id, p);
  }

  @Get('rankings')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(RankingsAnswer)
  @ApiOperation({ summary: 'Rankings: per-team scores for program managers and auditors, published aggregates for everyone else' })
  rankings(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    return this.reads.rankings(id, p);
  }

  @Get('awardees')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(AwardeesAnswer)
  @ApiOperation({ summary: 'Selections, narrowings and refill choices, and the teams in the program now' })
  awardees(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    return this.reads.awardees(id, p);
  }

  @Get('grants')
  @Allow('program_manager', 'auditor', 'applicant')
  @Answers(GrantsAnswer)
  @ApiOperation({ summary: "Compute grants (applicants see their own organisation's)" })
  grants(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    return this.reads.grants(id, p);
  }

  @Get('owed')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(OwedAnswer)
  @ApiOperation({ summary: 'Who owes what by when (others than managers and auditors see what they owe)' })
  owed(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    return this.reads.owed(id, p);
  }
}
