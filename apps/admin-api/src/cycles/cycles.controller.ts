import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { AsOfSchema, StartCycleSchema, type StartCycle } from '../programs/programs.schemas';
import { CyclesService } from './cycles.service';
import { Answers } from '../http/answers';
import { CycleAnswer, CycleStartedAnswer, ProgramCyclesAnswer } from '../programs/programs.answers';

@ApiTags('cycles')
@ApiBearerAuth()
@Controller('v1')
export class CyclesController {
  constructor(@Inject(CyclesService) private readonly cycles: CyclesService) {}

  @Post('programs/:slug/cycles')
  @HttpCode(201)
  @Allow('program_manager')
  @Answers(CycleStartedAnswer)
  @ApiOperation({ summary: "Start a program's yearly cycle (one per year)" })
  start(@Param('slug') slug: string, @Body(new ZodPipe(StartCycleSchema)) body: StartCycle, @CurrentPrincipal() actor: Principal) {
    return this.cycles.start(slug, body, actor);
  }

  @Get('programs/:slug/cycles')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(ProgramCyclesAnswer)
  @ApiOperation({ summary: "A program's cycles, by year, with their recorded stage" })
  list(@Param('slug') slug: string) {
    return this.cycles.ofProgram(slug);
  }

  @Get('cycles/:id')
  @Allow('program_manager', 'auditor', 'reviewer', 'evaluator', 'applicant')
  @Answers(CycleAnswer)
  @ApiOperation({
    summary: "A cycle's stage: recorded (projection) and live (workflow Query); with ?asOf=, the cycle as its events alone say it was then (program managers and auditors)",
  })
  get(@Param('id') id: string, @Query('asOf', new ZodPipe(AsOfSchema, 'asOf')) asOf: string | undefined, @CurrentPrincipal() reader: Principal) {
    return asOf === undefined ? this.cycles.get(id) : this.cycles.asOf(id, asOf, reader);
  }
}
