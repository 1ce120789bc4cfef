import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EvaluationModule } from '@concentra/evaluation';
import { CycleDetailsReads, PersistenceModule } from '@concentra/persistence';
import { EvaluationProgressController } from './evaluation-progress.controller';
import { EvaluationProgressService } from './evaluation-progress.service';

/** The evaluation service over HTTP: the progress of the benchmark runs. */
@Module({
  imports: [PersistenceModule, EvaluationModule],
  controllers: [EvaluationProgressController],
  providers: [EvaluationProgressService, { provide: CycleDetailsReads, inject: [DataSource], useFactory: (db: DataSource) => new CycleDetailsReads(db) }],
})
export class EvaluationApiModule {}
