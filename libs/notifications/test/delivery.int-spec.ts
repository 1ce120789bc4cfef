import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import request from 'supertest';

import { defaultPolicy, type ProgramPolicy } from '@concentra/domain';
import { Directory, NotificationActivities, NotificationRelay, DEFAULT_RETRY, retryDelayMs } from '@concentra/notifications';
import { startSmtpSink, type SmtpSink } from '@concentra/tools/smtp-sink';

import { type Principal } from '@concentra/auth';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { bearer, startApi } from '../../../apps/admin-api/test/api.support';
import { openWithApplicants, pm, reviewAll } from '../../domain/src/cycle/testing';
import { recordCycle, startWebhookReceiver, TestClock, type WebhookReceiver } from './loopback';

const HOUR = 3_600_000;

/** Delivery on real parts: PostgreSQL, an SMTP server and webhook receivers on loopback, the HTTP API. */
describe('notification delivery (SMTP, Standard Webhooks, retries, dead letters, redelivery)', () => {
  let database: TestDatabase;
  let api: INestApplication;
  let smtp: SmtpSink;
  const hooks: Record<string, WebhookReceiver> = {};
  const oldSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const newSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const token = (role: Principal['role']) => bearer({ sub: `${role}-1`, role, org: role === 'applicant' ? 'org-a1' : undefined });
  const program = 'ko-ai';
  const cycleId = `cycle:${program}:2027`;
  let clock: TestClock;
  let relay: NotificationRelay;

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpSink();
    for (const team of ['a2', 'a3', 'a4']) hooks[team] = await startWebhookReceiver(oldSecret);
    api = await startApi(database);
  });
  afterAll(async () => {
    await relay?.stop();
    await api?.close();
    await smtp?.close();
    for (const hook of Object.values(hooks)) await hook.close();
    await database?.drop();
  });

  it('keeps the directory behind program managers and admins, and validates it', async () => {
    const http = request(api.getHttpServer());
    const contacts = { contacts: [{ name: '김민준', email: 'lead@org-a1.example', role: 'lead', timeZone: 'Asia/Seoul' }] };
    await http.put('/v1/directory/organisations/org-a1/contacts').set('Authorization', token('auditor')).send(contacts).expect(403);
    await http.get('/v1/directory/organisations/org-a1/contacts').set('Authorization', token('reviewer')).expect(403);
    const bad = await http.put('/v1/directory/organisations/org-a1/contacts').set('Authorization', token('program_manager'))
      .send({ contacts: [{ name: 'x', email: 'not-an-email', role: 'lead', timeZone: 'Mars/Base' }] }).expect(400);
    expect(bad.body.fields.map((f: { field: string }) => f.field).sort()).toEqual(['contacts.0.email', 'contacts.0.timeZone']);
    await http.put('/v1/directory/teams/org-a1/contacts').set('Authorization', token('program_manager')).send(contacts).expect(400);
    await http.put('/v1/directory/organisations/org-a1/contacts').set('Authorization', token('program_manager')).send(contacts).expect(200);
    const read = await http.get('/v1/directory/organisations/org-a1/contacts').set('Authorization', token('admin')).expect(200);
    expect(read.body).toEqual(contacts.contacts);
    await http.put(`/v1/directory/organisations/org-a6/contacts`).set('Authorization', token('admin'))
      .send({ contacts: [{ name: 'Jane Doe', email: 'jane@org-a6.example', role: 'lead', timeZone: 'Europe/Berlin' }] }).expect(200);
    for (const team of ['a2', 'a3', 'a4']) {
      // Rotation: the endpoint is configured with the new and the old secret; its receiver still holds the old one.
      const put = await http.put(`/v1/directory/organisations/org-${team}/webhooks`).set('Authorization', token('program_manager'))
        .send({ url: hooks[team].url, secrets: [newSecret, oldSecret] }).expect(200);
      expect(put.body).toMatchObject({ url: hooks[team].url, secrets: 2, disabledAt: null });
    }
  });

  it('tells every team of a Korean-language program its selection, in Korean, in its own time zone', async () => {
    const policy = { ...defaultPolicy, program, language: 'ko' } as ProgramPolicy;
    const sc = openWithApplicants(policy, 8);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    sc.run({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } });
    const decidedAt = sc.last('AwardeesSelected').data.decidedAt;
    await recordCycle(database.db, cycleId, sc.events, decidedAt);

    hooks.a2.downWith = 503;
    hooks.a3.downWith = 503;
    hooks.a4.downWith = 410;
    clock = new TestClock(Date.parse(decidedAt));
    relay = new NotificationRelay(database.db, { smtpUrl: smtp.url, clock });
    await relay.runOnce();

    expect(smtp.received.map((m) => m.to).sort()).toEqual([['jane@org-a6.example'], ['lead@org-a1.example']]);
    const a1 = smtp.received.find((m) => m.to[0] === 'lead@org-a1.example')!;
    expect(a1.parsed.subject).toBe('신청 a1 선정 안내');
    expect(a1.parsed.text).toContain('김민준 님께,');
    // The decision's instant in the reader's zone: Seoul for a1, Berlin for a6 (same instant).
    const seoul = new Intl.DateTimeFormat('ko-KR', { year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Asia/Seoul', timeZoneName: 'short' }).format(new Date(decidedAt));
    expect(seoul).toMatch(/^2027년 \d+월 \d+일 .*\d\d:\d\d GMT\+9$/);
    expect(a1.parsed.text).toContain(`신청 a1이(가) 컴퓨팅 지원 대상으로 선정되었습니다 (결정: ${seoul}).`);
    expect(a1.parsed.html).toContain('<html lang="ko">');
    expect(a1.parsed.html).toContain(`선정되었습니다 (결정: ${seoul})`);
    const a6 = smtp.received.find((m) => m.to[0] === 'jane@org-a6.example')!;
    expect(a6.parsed.subject).toBe('신청 a6 미선정 안내');
    expect(a6.parsed.text).toMatch(/^Jane Doe 님께,\n\n아쉽게도 신청 a6은\(는\) 이번에 선정되지 않았습니다 \(결정: 2027년 \d+월 \d+일 \d\d:\d\d GMT\+1\)\./);
    expect(a6.messageId).toMatch(/^<[0-9a-f]{32}@notifications\.concentra>$/);

    const http = request(api.getHttpServer());
    const listed = await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/notifications`).set('Authorization', token('program_manager')).expect(200);
    const byTeam = (team: string) => listed.body.filter((n: { recipient: { applicationId?: string } }) => n.recipient.applicationId === team);
    expect(byTeam('a1')).toEqual([expect.objectContaining({ kind: 'selected', channel: 'email', address: 'lead@org-a1.example', status: 'delivered', attempts: 1, language: 'ko' })]);
    expect(byTeam('a7')).toEqual([expect.objectContaining({ kind: 'not_selected', channel: 'none', status: 'unaddressed' })]);
    expect(byTeam('a4')).toEqual([expect.objectContaining({ kind: 'selected', channel: 'webhook', status: 'dead', lastError: expect.stringContaining('410') })]);
    const auditor = await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/notifications`).set('Authorization', token('auditor')).expect(200);
    expect(auditor.body.find((n: { channel: string }) => n.channel === 'email').address).toMatch(/^…@/);
    await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/notifications`).set('Authorization', token('applicant')).expect(403);
    // The audit timeline tells it too, after the decision, addresses reduced to their domain.
    const timeline = await http.get(`/v1/audit/cycles/${encodeURIComponent(cycleId)}/timeline`).set('Authorization', token('auditor')).expect(200);
    const types = timeline.body.entries.map((e: { type: string }) => e.type);
    expect(types.indexOf('NotificationDelivered')).toBeGreaterThan(types.indexOf('AwardeesSelected'));
    expect(timeline.body.lines).toEqual(expect.arrayContaining([expect.stringMatching(/NotificationDelivered .* selected to …@org-a1\.example by email: delivered after 1 attempt/)]));
    expect(types.filter((t: string) => t === 'NotificationDeadLettered')).toHaveLength(1);
    const webhooks = await http.get('/v1/directory/organisations/org-a4/webhooks').set('Authorization', token('admin')).expect(200);
    expect(webhooks.body[0].disabledAt).not.toBeNull();
  });

  it("reminds a panel member, in the program's language and the member's time zone", async () => {
    await new Directory(database.db).setContacts('person', 'reviewer-1', [{ name: '이서연', email: 'seoyeon@review.example', role: 'reviewer', timeZone: 'Asia/Seoul' }]);
    // As the cycle workflow writes a reminder (its key and shape from the domain's plannedReminders).
    await new NotificationActivities(database.db).enqueueNotification({
      key: `${cycleId}:reminder:review_due:2027-02-14T15:00:00.000Z:P1D:reviewer/reviewer-1/`, cycleId, kind: 'reminder', recipient: { role: 'reviewer', subject: 'reviewer-1' },
      subject: 'Reminder', body: { deadline: 'review_due', dueAt: '2027-02-14T15:00:00.000Z', items: [{ what: 'review', applicationId: 'a3' }] }, dueAt: '2027-02-14T15:00:00.000Z',
    });
    await relay.runOnce();
    const mail = smtp.received.find((m) => m.to[0] === 'seoyeon@review.example')!;
    expect(mail.parsed.subject).toBe('알림: 2027년 2월 15일 00:00 GMT+9 마감');
    expect(mail.parsed.text).toContain('이서연 님께,');
    expect(mail.parsed.text).toContain('다음 항목의 마감은 2027년 2월 15일 00:00 GMT+9입니다: review (a3).');
  });

  it('retries an endpoint that is down for an hour on schedule, delivers it, and dead-letters one that never comes back', async () => {
    const http = request(api.getHttpServer());
    const start = clock.t;
    const attemptsAt: Record<string, number[]> = { a2: [start], a3: [start] };
    const deliveries = async () => (await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/notifications`).set('Authorization', token('program_manager')).expect(200)).body as Array<{
      key: string; recipient: { applicationId?: string }; status: string; attempts: number; nextAttemptAt: string | null; lastAttemptAt: string | null; messageId: string;
    }>;
    const hookOf = async (team: string) => (await deliveries()).find((n) => n.recipient.applicationId === team && n.key.endsWith(':webhook'))!;
    for (let pass = 0; pass < 200; pass += 1) {
      const pending = (await deliveries()).filter((n) => n.status === 'pending');
      if (pending.length === 0) break;
      clock.t = Math.min(...pending.map((n) => Date.parse(n.nextAttemptAt!)));
      if (clock.t - start >= HOUR) hooks.a2.downWith = null;
      await relay.runOnce();
      for (const team of ['a2', 'a3'] as const) {
        const d = await hookOf(team);
        if (d.lastAttemptAt && Date.parse(d.lastAttemptAt) !== attemptsAt[team].at(-1)) attemptsAt[team].push(Date.parse(d.lastAttemptAt));
      }
    }
    const a2 = await hookOf('a2');
    expect(a2).toMatchObject({ status: 'delivered', attempts: attemptsAt.a2.length });
    // On schedule: each wait is the delivery's own jittered exponential delay, and nothing came before it.
    attemptsAt.a2.slice(1).forEach((t, i) => expect(t - attemptsAt.a2[i]).toBe(retryDelayMs(DEFAULT_RETRY, a2.key, i + 1)));
    attemptsAt.a2.slice(1).forEach((t, i) => {
      const full = Math.min(DEFAULT_RETRY.maxMs, DEFAULT_RETRY.initialMs * 2 ** i);
      expect(t - attemptsAt.a2[i]).toBeGreaterThanOrEqual(full / 2);
      expect(t - attemptsAt.a2[i]).toBeLessThanOrEqual(full);
    });
    expect(attemptsAt.a2.at(-2)! - start).toBeLessThan(HOUR);
    expect(attemptsAt.a2.at(-1)! - start).toBeGreaterThanOrEqual(HOUR);
    expect(hooks.a2.received).toEqual([expect.objectContaining({ id: a2.messageId, verified: true })]);
    expect(hooks.a2.requests).toBe(attemptsAt.a2.length);

    const a3 = await hookOf('a3');
    expect(a3.status).toBe('dead');
    expect(attemptsAt.a3.at(-1)! - start).toBeLessThanOrEqual(DEFAULT_RETRY.giveUpAfterMs);
    expect(hooks.a3.requests).toBe(a3.attempts);
    const dead = await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/notifications?status=dead`).set('Authorization', token('auditor')).expect(200);
    expect(dead.body.map((n: { key: string }) => n.key).sort()).toEqual([a3.key, (await hookOf('a4')).key].sort());

    // The endpoint is back; a program manager redelivers: the same webhook-id arrives, verified, once.
    hooks.a3.downWith = null;
    const path = `/v1/cycles/${encodeURIComponent(cycleId)}/notifications/${encodeURIComponent(a3.key)}/redeliver`;
    await http.post(path).set('Authorization', token('auditor')).expect(403);
    await http.post(`/v1/cycles/${encodeURIComponent(cycleId)}/notifications/${encodeURIComponent(a2.key)}/redeliver`).set('Authorization', token('program_manager')).expect(409);
    await http.post(`/v1/cycles/${encodeURIComponent(cycleId)}/notifications/nope/redeliver`).set('Authorization', token('program_manager')).expect(404);
    const again = await http.post(path).set('Authorization', token('program_manager')).expect(202);
    expect(again.body).toMatchObject({ key: a3.key, status: 'pending' });
    await relay.runOnce();
    expect(await hookOf('a3')).toMatchObject({ status: 'delivered' });
    expect(hooks.a3.received).toEqual([expect.objectContaining({ id: a3.messageId, verified: true })]);
  });
});
