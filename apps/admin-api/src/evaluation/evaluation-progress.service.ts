import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@concentra/domain';
import { EvaluationProgressReads, type TeamProgress } from '@concentra/evaluation';
import { CycleDetailsReads } from '@concentra/persistence';

@Injectable()
export class EvaluationProgressService {
  constructor(
    @Inject(EvaluationProgressReads) private readonly progress: EvaluationProgressReads,
    @Inject(CycleDetailsReads) private readonly cycles: CycleDetailsReads,
  ) {}

  /** Per team: items done of total, errors, score so far, for every benchmark run of the cycle. */
  async forCycle(cycleId: string): Promise<{ cycleId: string; teams: TeamProgress[] }> {
    if (!(await this.cycles.summary(cycleId))) throw new DomainError('not_found', `no cycle '${cycleId}'`, 'id');
    return { cycleId, teams: await this.progress.forCycle(cycleId) };
  }
}
