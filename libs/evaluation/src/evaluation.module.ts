import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PersistenceModule } from '@concentra/persistence';
import { EvaluationActivities } from './evaluation.activities';
import { EvaluationProgressReads } from './evaluation-progress.reads';

/** The evaluation service: activities (bound by the worker) and progress reads (served by the API). */
@Module({
  imports: [PersistenceModule],
  providers: [
    {
      provide: EvaluationActivities,
      inject: [DataSource],
      useFactory: (db: DataSource) => new EvaluationActivities(db, { registryFile: process.env.EVAL_PROVENANCE_REGISTRY || undefined }),
    },
    { provide: EvaluationProgressReads, inject: [DataSource], useFactory: (db: DataSource) => new EvaluationProgressReads(db) },
  ],
  exports: [EvaluationActivities, EvaluationProgressReads],
})
export class EvaluationModule {}
