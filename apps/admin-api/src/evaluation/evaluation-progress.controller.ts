import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Allow } from '../auth/roles';
import { Answers } from '../http/answers';
import { EvaluationProgressAnswer } from './evaluation.answers';
import { EvaluationProgressService } from './evaluation-progress.service';

/** The evaluation service's runs as program managers follow them. */
@ApiTags('evaluation')
@ApiBearerAuth()
@Controller('v1/cycles/:id/evaluation')
export class EvaluationProgressController {
  constructor(@Inject(EvaluationProgressService) private readonly progress: EvaluationProgressService) {}

  @Get('progress')
  @Allow('program_manager', 'auditor')
  @Answers(EvaluationProgressAnswer)
  @ApiOperation({ summary: 'Benchmark runs per team: items done of total, errors, score so far' })
  progressOf(@Param('id') id: string) {
    return this.progress.forCycle(id);
  }
}
