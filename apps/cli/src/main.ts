import 'reflect-metadata';
import { Command, Option } from 'commander';
import { DEFAULT_DATABASE_URL, jwtSecret, loadEnvironment } from '@concentra/config';
import { createDataSource, migrate } from '@concentra/persistence';
import { ROLES, issueToken, type Principal } from '@concentra/auth';
import { registerAuditCommands } from './audit-commands';
import { registerSimulateCommand } from './simulate/simulate';

const program = new Command('concentra').description('Concentra command line: tokens, migrations, audits, policy simulation');

program
  .command('token')
  .description('Issue a bearer token for local use, signed with AUTH_JWT_SECRET (or the development key)')
  .addOption(new Option('--role <role>', 'who the token speaks for').choices(ROLES).makeOptionMandatory())
  .option('--sub <subject>', 'the person or system the token is for', 'local-user')
  .option('--org <organisation>', 'the organisation an applicant (or reviewer) belongs to')
  .option('--expires <duration>', 'lifetime, e.g. 12h or 30d', '12h')
  .action((options: { role: Principal['role']; sub: string; org?: string; expires: string }) => {
    const env = loadEnvironment();
    const token = issueToken(
      { sub: options.sub, role: options.role, org: options.org },
      jwtSecret(env),
      env.AUTH_JWT_ISSUER,
      options.expires as never,
    );
    console.log(token);
  });

program
  .command('migrate')
  .description('Apply pending database migrations to DATABASE_URL')
  .action(async () => {
    const env = loadEnvironment();
    const db = await createDataSource(env.DATABASE_URL ?? DEFAULT_DATABASE_URL).initialize();
    try {
      const ran = await migrate(db);
      console.log(ran.length ? `applied: ${ran.join(', ')}` : 'nothing to apply');
    } finally {
      await db.destroy();
    }
  });

registerAuditCommands(program);
registerSimulateCommand(program);

program.parseAsync().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
