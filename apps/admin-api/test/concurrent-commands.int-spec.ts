import { applicant, company, expectStatus, panel, pm, shortPolicy, cycleUnderTest } from './cycle-commands.support';

/**
 * Many people at once: more commands than Temporal lets one workflow hold in flight (10 Updates by
 * default) reach one cycle together through the HTTP API, while the cycle records them in batches.
 * Each is answered as if it were alone (201, its own event), none is lost or recorded twice, and
 * none is turned away with a 503 (an Update refused for the in-flight limit, RESOURCE_EXHAUSTED,
 * was never admitted; the Temporal client sends it again with its backoff).
 */
describe('cycle commands: many at once', () => {
  const { slug, year, id, h, post, waitForStage } = cycleUnderTest('concurrent', 2027);
  const TEAMS = 40;

  it(`takes ${TEAMS} applications sent at the same moment, each once`, async () => {
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Concurrent programme', policy: shortPolicy({ afterApplications: 500 }) }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel }), 201);
    await waitForStage('call', 30_000);

    const teams = Array.from({ length: TEAMS }, (_, i) => `team-${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(teams.map((team) => post('/applications', applicant(`org-${team}`), { applicationId: team, title: `Team ${team}`, lead: company(`org-${team}`) })));
    expect(answers.map((a) => a.status)).toEqual(teams.map(() => 201));
    for (const answer of answers) expect(answer.body.events).toEqual(['ApplicationSubmitted']);

    const stored = (await h.database.db.query(
      `SELECT data->>'applicationId' AS application, count(*) AS n FROM events WHERE stream_id = $1 AND type = 'ApplicationSubmitted' GROUP BY 1 ORDER BY 1`,
      [id],
    )) as { application: string; n: string }[];
    expect(stored.map((r) => [r.application, Number(r.n)])).toEqual(teams.map((t) => [t, 1]));
  });
});
