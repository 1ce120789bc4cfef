import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigModule } from '@concentra/config';
import { CycleDetailsReads, PersistenceModule } from '@concentra/persistence';
import { TemporalClientModule } from '@concentra/temporal';
import { CycleReadsController } from '../cycles/cycle-reads.controller';
import { CycleReadsService } from '../cycles/cycle-reads.service';
import { CycleCommandsController } from './commands.controller';
import { CycleCommandsService } from './commands.service';
import { GrantReportsController } from './grant-reports.controller';

/** Commands to running cycles (Temporal Updates) and the reads of a cycle (projections and Queries). */
@Module({
  imports: [ConfigModule, PersistenceModule, TemporalClientModule],
  controllers: [CycleCommandsController, CycleReadsController, GrantReportsController],
  providers: [
    CycleCommandsService,
    CycleReadsService,
    { provide: CycleDetailsReads, inject: [DataSource], useFactory: (db: DataSource) => new CycleDetailsReads(db) },
  ],
})
export class CycleCommandsModule {}
