/**
 * What a notice says, per kind and language (`en`, `ko`: the program's policy decides), as a plain
 * text and an HTML part. Instants are written in the recipient's time zone. A kind without its
 * own template still says something true (its name and the cycle): nothing is dropped for want of
 * words.
 */
import { isIsoDuration, parseIsoDuration } from '@concentra/domain';

export type Language = 'en' | 'ko';

export interface RenderContext {
  cycleId: string;
  language: Language;
  timeZone: string;
  recipientName: string | null;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

type Body = Record<string, unknown>;
type Line = (b: Body, when: (iso: unknown) => string) => string;
interface Template {
  subject: Line;
  body: Line;
}

const team = (b: Body) => String(b.applicationId ?? '');
/** A policy's period in words: whole days, or an ISO-8601 duration's parts ("1 day 12 hours", "30초"). */
const spanOf = (span: number | string | undefined, en: boolean): string => {
  if (typeof span === 'number') return en ? `${span} day${span === 1 ? '' : 's'}` : `${span}일`;
  if (typeof span !== 'string' || !isIsoDuration(span)) return String(span ?? '');
  const p = parseIsoDuration(span);
  const units: [number, string, string][] = [[p.years, 'year', '년'], [p.months, 'month', '개월'], [p.weeks, 'week', '주'], [p.days, 'day', '일'], [p.hours, 'hour', '시간'], [p.minutes, 'minute', '분'], [p.seconds, 'second', '초']];
  return units.filter(([n]) => n > 0).map(([n, unit, ko]) => (en ? `${n} ${unit}${n === 1 ? '' : 's'}` : `${n}${ko}`)).join(' ');
};
/** A window that starts on notice has no end yet when the notice is written: it says how long from this notice. */
const window = (b: Body, when: (iso: unknown) => string, en: boolean) => {
  const w = b.objectionWindow as { startsOn?: string; days?: number | string } | undefined;
  if (w?.startsOn === 'notified') return en ? ` You may object within ${spanOf(w.days, true)} of receiving this notice.` : ` 이의 신청은 이 안내를 받은 때부터 ${spanOf(w.days, false)} 이내에 가능합니다.`;
  return b.objectionWindowEndsAt ? (en ? ` You may object until ${when(b.objectionWindowEndsAt)}.` : ` 이의 신청은 ${when(b.objectionWindowEndsAt)}까지 가능합니다.`) : '';
};
/** A GPU amount is alternatives in order of preference. */
const gpus = (v: unknown, or = ' or ') => (Array.isArray(v) && v.length > 0 ? v.map((g: { type?: string; count?: number }) => `${String(g.count ?? '')} × ${String(g.type ?? '')}`).join(or) : '—');
/** What a kept team reads while others may still object: the decision is not final yet (it cannot object itself). */
const pending = (b: Body, when: (iso: unknown) => string, en: boolean) => {
  const w = b.objectionWindow as { startsOn?: string } | undefined;
  if (w?.startsOn === 'notified') return en ? ' It becomes final once the objection window of the teams it goes against has run.' : ' 이 결정은 해당 팀들의 이의 신청 기간이 끝나면 확정됩니다.';
  return b.objectionWindowEndsAt ? (en ? ` It becomes final once the objection window closes (${when(b.objectionWindowEndsAt)}).` : ` 이 결정은 이의 신청 기간이 끝나는 ${when(b.objectionWindowEndsAt)}에 확정됩니다.`) : '';
};
const items = (b: Body) =>
  Array.isArray(b.items) ? b.items.map((i: { what?: string; applicationId?: string | null; reportId?: string }) => `${i.what ?? ''}${i.reportId ? ` "${i.reportId}"` : ''}${i.applicationId ? ` (${i.applicationId})` : ''}`).join(', ') : '';
/** Issue 15: what a missing report set off, in words. */
const CONSEQUENCE = {
  en: { warning: 'This is a warning.', throttle: 'Its GPUs are throttled.', suspend: 'Its GPUs are suspended.', terminate: 'The grant is terminated and its GPUs are released.' },
  ko: { warning: '경고입니다.', throttle: 'GPU 사용이 제한되었습니다.', suspend: 'GPU 사용이 정지되었습니다.', terminate: '지원이 종료되고 GPU가 반환되었습니다.' },
} as Record<'en' | 'ko', Record<string, string>>;

const EN: Record<string, Template> = {
  reminder: { subject: (b, w) => `Reminder: due ${w(b.dueAt)}`, body: (b, w) => `This is a reminder that the following is due by ${w(b.dueAt)}: ${items(b)}.` },
  escalation: { subject: () => 'Escalation: a decision waits for you', body: (b) => `The cycle needs a program manager: ${String(b.reason ?? '')}: ${String(b.details ?? '')}.` },
  gpu_usage: { subject: (b) => `GPU use passed a threshold (${String(b.grantId ?? '')})`, body: (b) => `Grant ${String(b.grantId ?? '')} has used ${String(b.gpuHoursUsed ?? '')} of ${String(b.gpuHoursGranted ?? '')} GPU hours.` },
  dropped_in_review: { subject: (b) => `Your application ${team(b)} does not continue`, body: (b) => `Application ${team(b)} was not kept after review round ${String(b.round ?? '')}.${b.reason === 'peer_reviews_missed' ? " It did not submit its assigned peer reviews by the deadline, and the program's policy rejects the application then." : ''}` },
  selected: { subject: (b) => `Your application ${team(b)} was selected`, body: (b, w) => `Congratulations: application ${team(b)} was selected for a compute grant (decided ${w(b.decidedAt)}).${pending(b, w, true)}` },
  not_selected: { subject: (b) => `Your application ${team(b)} was not selected`, body: (b, w) => `We regret that application ${team(b)} was not selected this time (decided ${w(b.decidedAt)}).${window(b, w, true)}` },
  narrowing_kept: { subject: (b) => `${team(b)} continues as a finalist`, body: (b, w) => `Team ${team(b)} was kept in narrowing round ${String(b.round ?? '')} and continues.${pending(b, w, true)}` },
  narrowing_dropped: { subject: (b) => `${team(b)} was not kept in the narrowing`, body: (b, w) => `Team ${team(b)} was not kept in narrowing round ${String(b.round ?? '')} (decided ${w(b.decidedAt)}).${window(b, w, true)}` },
  submission_missing: { subject: (b) => `No model from ${team(b)} for evaluation`, body: (b) => `Team ${team(b)} submitted no model by the deadline; by the program's policy it is ${b.outcome === 'eliminate' ? 'eliminated' : 'scored zero in this round'}.` },
  eliminated: { subject: (b) => `${team(b)} does not continue`, body: (b) => `Team ${team(b)} was not kept in round ${String(b.round ?? '')} (${String(b.reason ?? '')}). Its grant will end.` },
  objection_decided: { subject: (b) => `Your objection (${team(b)}) was decided`, body: (b) => `The objection was ${b.upheld ? 'upheld' : 'rejected'}: ${String(b.reasoning ?? '')}` },
  refill_selected: { subject: (b) => `${team(b)} was selected in the refill`, body: (b) => `Application ${team(b)} was selected to fill a freed seat.` },
  refill_not_selected: { subject: (b) => `${team(b)} was not selected in the refill`, body: (b) => `Application ${team(b)} was not selected in the refill.` },
  grant_started: { subject: (b) => `Your grant ${String(b.grantId ?? '')} has started`, body: (b) => `The GPUs of grant ${String(b.grantId ?? '')} are now available to team ${team(b)}.` },
  grant_extended: { subject: () => 'Your grant is extended', body: (b, w) => `Grant ${String(b.grantId ?? '')} is extended until ${w(b.extendedUntil)}.` },
  grant_ended: { subject: (b) => `Your grant ${String(b.grantId ?? '')} has ended`, body: (b) => `Grant ${String(b.grantId ?? '')} ended (${String(b.reason ?? '')}); its GPUs went back to the pool.` },
  grant_gpus_changed: { subject: (b) => `The GPUs of grant ${String(b.grantId ?? team(b))} changed`, body: (b) => `Team ${team(b)} now has ${gpus(b.gpus)} (before: ${gpus(b.previous)}).${b.rationale ? ` ${String(b.rationale)}` : ''}` },
  grant_gpus_withheld: { subject: (b) => `GPUs withheld from grant ${String(b.grantId ?? '')}`, body: (b, w) => `The GPU pool could not serve ${b.kind === 'partial' ? `all the GPUs of grant ${String(b.grantId ?? '')} (${String(b.served ?? 0)} of ${String(b.asked ?? '')})` : `grant ${String(b.grantId ?? '')}`}.${b.retryUntil ? ` It keeps asking until ${w(b.retryUntil)}.` : ''} The program managers have been told.` },
  grant_gpus_served: { subject: (b) => `Grant ${String(b.grantId ?? '')} now holds all its GPUs`, body: (b) => `Grant ${String(b.grantId ?? '')} now holds ${String(b.served ?? '')} GPUs, all it asked for.` },
  procurement_opened: { subject: () => 'Procurement has opened', body: (b, w) => `Public-use contracts are due by ${w(b.contractsDueAt)} and the open-source release by ${w(b.releaseDueAt)}.` },
  procurement_awarded: { subject: (b) => `Contract ${String(b.contractId ?? '')} awarded`, body: (b) => `${String(b.agency ?? '')} awarded a public-use contract for ${String(b.model ?? '')}.` },
  procurement_missing: { subject: () => 'A procurement deadline passed with something missing', body: (b) => `The deadline ${String(b.deadline ?? '')} passed; missing: ${Array.isArray(b.missing) ? b.missing.join(', ') : team(b)}.` },
  model_released: { subject: (b) => `Release of ${team(b)} recorded`, body: (b) => `The open-source release at ${String(b.repository ?? '')} (${String(b.licence ?? '')}) is recorded.` },
  cycle_cancelled: { subject: () => 'The cycle was cancelled', body: (b) => `The cycle was cancelled in stage ${String(b.stage ?? '')}: ${String(b.reason ?? '')}` },
  grant_report_reviewed: { subject: (b) => `Report "${String(b.reportId ?? '')}" of ${team(b)} reviewed`, body: (b) => `The ${String(b.kind ?? '')} report "${String(b.reportId ?? '')}" was ${b.outcome === 'accepted' ? 'accepted' : 'sent back for changes; please submit it again'}.` },
  grant_report_consequence: {
    subject: (b) => `Report "${String(b.reportId ?? '')}" of ${team(b)} is missing`,
    body: (b, w) => `The ${String(b.kind ?? '')} report "${String(b.reportId ?? '')}" of grant ${String(b.grantId ?? '')} was due by ${w(b.dueAt)} and is missing. ${CONSEQUENCE.en[String(b.action)] ?? ''} (Policy rule ${String(b.rule ?? '')}.)`,
  },
  grant_sanction_lifted: {
    subject: (b) => `GPUs of ${team(b)} back to normal`,
    body: (b) => `The ${String(b.kind ?? '')} report "${String(b.reportId ?? '')}" of grant ${String(b.grantId ?? '')} arrived late and was ${b.on === 'on_submission' ? 'submitted' : 'accepted'}; the ${b.lifted === 'suspend' ? 'suspension' : 'throttling'} is lifted and the grant's GPUs are back to normal. (Policy rule ${String(b.rule ?? '')}.)`,
  },
};

const KO: Record<string, Template> = {
  reminder: { subject: (b, w) => `알림: ${w(b.dueAt)} 마감`, body: (b, w) => `다음 항목의 마감은 ${w(b.dueAt)}입니다: ${items(b)}.` },
  escalation: { subject: () => '에스컬레이션: 결정이 필요합니다', body: (b) => `사업 담당자의 조치가 필요합니다: ${String(b.reason ?? '')}: ${String(b.details ?? '')}.` },
  gpu_usage: { subject: (b) => `GPU 사용량 임계치 도달 (${String(b.grantId ?? '')})`, body: (b) => `지원 ${String(b.grantId ?? '')}의 GPU 사용 시간: ${String(b.gpuHoursUsed ?? '')} / ${String(b.gpuHoursGranted ?? '')}.` },
  dropped_in_review: { subject: (b) => `신청 ${team(b)} 심사 탈락 안내`, body: (b) => `신청 ${team(b)}은(는) ${String(b.round ?? '')}차 심사 후 유지되지 않았습니다.${b.reason === 'peer_reviews_missed' ? ' 마감까지 배정된 동료 심사를 제출하지 않아 사업 정책에 따라 신청이 반려되었습니다.' : ''}` },
  selected: { subject: (b) => `신청 ${team(b)} 선정 안내`, body: (b, w) => `축하합니다. 신청 ${team(b)}이(가) 컴퓨팅 지원 대상으로 선정되었습니다 (결정: ${w(b.decidedAt)}).${pending(b, w, false)}` },
  not_selected: { subject: (b) => `신청 ${team(b)} 미선정 안내`, body: (b, w) => `아쉽게도 신청 ${team(b)}은(는) 이번에 선정되지 않았습니다 (결정: ${w(b.decidedAt)}).${window(b, w, false)}` },
  narrowing_kept: { subject: (b) => `${team(b)} 최종 후보 유지 안내`, body: (b, w) => `팀 ${team(b)}은(는) ${String(b.round ?? '')}차 압축에서 유지되었습니다.${pending(b, w, false)}` },
  narrowing_dropped: { subject: (b) => `${team(b)} 압축 미유지 안내`, body: (b, w) => `팀 ${team(b)}은(는) ${String(b.round ?? '')}차 압축에서 유지되지 않았습니다 (결정: ${w(b.decidedAt)}).${window(b, w, false)}` },
  submission_missing: { subject: (b) => `${team(b)} 평가 모델 미제출 안내`, body: (b) => `팀 ${team(b)}은(는) 마감까지 모델을 제출하지 않았습니다. 사업 정책에 따라 ${b.outcome === 'eliminate' ? '탈락 처리됩니다' : '이번 평가에서 0점 처리됩니다'}.` },
  eliminated: { subject: (b) => `${team(b)} 탈락 안내`, body: (b) => `팀 ${team(b)}은(는) ${String(b.round ?? '')}차 압축에서 유지되지 않았습니다 (${String(b.reason ?? '')}). 지원이 종료됩니다.` },
  objection_decided: { subject: (b) => `이의 신청 (${team(b)}) 결정 안내`, body: (b) => `이의 신청이 ${b.upheld ? '인용' : '기각'}되었습니다: ${String(b.reasoning ?? '')}` },
  refill_selected: { subject: (b) => `${team(b)} 추가 선정 안내`, body: (b) => `신청 ${team(b)}이(가) 추가 모집에서 선정되었습니다.` },
  refill_not_selected: { subject: (b) => `${team(b)} 추가 모집 미선정 안내`, body: (b) => `신청 ${team(b)}은(는) 추가 모집에서 선정되지 않았습니다.` },
  grant_started: { subject: (b) => `지원 ${String(b.grantId ?? '')} 시작 안내`, body: (b) => `지원 ${String(b.grantId ?? '')}의 GPU를 이제 팀 ${team(b)}이(가) 사용할 수 있습니다.` },
  grant_extended: { subject: () => '지원 연장 안내', body: (b, w) => `지원 ${String(b.grantId ?? '')}이(가) ${w(b.extendedUntil)}까지 연장되었습니다.` },
  grant_ended: { subject: (b) => `지원 ${String(b.grantId ?? '')} 종료 안내`, body: (b) => `지원 ${String(b.grantId ?? '')}이(가) 종료되었습니다 (${String(b.reason ?? '')}). GPU는 풀로 반환되었습니다.` },
  grant_gpus_changed: { subject: (b) => `지원 ${String(b.grantId ?? team(b))} GPU 변경 안내`, body: (b) => `팀 ${team(b)}의 GPU가 ${gpus(b.gpus, ' 또는 ')}(으)로 변경되었습니다 (이전: ${gpus(b.previous, ' 또는 ')}).${b.rationale ? ` ${String(b.rationale)}` : ''}` },
  grant_gpus_withheld: { subject: (b) => `지원 ${String(b.grantId ?? '')} GPU 미배정 안내`, body: (b, w) => `GPU 풀이 지원 ${String(b.grantId ?? '')}의 GPU를 ${b.kind === 'partial' ? `모두 배정하지 못했습니다 (${String(b.served ?? 0)} / ${String(b.asked ?? '')})` : '배정하지 못했습니다'}.${b.retryUntil ? ` ${w(b.retryUntil)}까지 계속 요청합니다.` : ''} 사업 담당자에게 알렸습니다.` },
  grant_gpus_served: { subject: (b) => `지원 ${String(b.grantId ?? '')} GPU 배정 완료 안내`, body: (b) => `지원 ${String(b.grantId ?? '')}에 요청한 GPU ${String(b.served ?? '')}개가 모두 배정되었습니다.` },
  procurement_opened: { subject: () => '구매 단계 시작 안내', body: (b, w) => `공공 이용 계약 마감: ${w(b.contractsDueAt)}, 오픈소스 공개 마감: ${w(b.releaseDueAt)}.` },
  procurement_awarded: { subject: (b) => `계약 ${String(b.contractId ?? '')} 체결 안내`, body: (b) => `${String(b.agency ?? '')}이(가) ${String(b.model ?? '')}에 대한 공공 이용 계약을 체결했습니다.` },
  procurement_missing: { subject: () => '구매 단계 마감 미충족 안내', body: (b) => `마감 ${String(b.deadline ?? '')}이(가) 지났습니다. 누락: ${Array.isArray(b.missing) ? b.missing.join(', ') : team(b)}.` },
  model_released: { subject: (b) => `${team(b)} 공개 기록 안내`, body: (b) => `오픈소스 공개 (${String(b.repository ?? '')}, ${String(b.licence ?? '')})가 기록되었습니다.` },
  cycle_cancelled: { subject: () => '사업 주기 취소 안내', body: (b) => `사업 주기가 ${String(b.stage ?? '')} 단계에서 취소되었습니다: ${String(b.reason ?? '')}` },
  grant_report_reviewed: { subject: (b) => `${team(b)} 보고서 "${String(b.reportId ?? '')}" 검토 안내`, body: (b) => `보고서 "${String(b.reportId ?? '')}"이(가) ${b.outcome === 'accepted' ? '승인되었습니다' : '보완 요청되었습니다. 다시 제출해 주십시오'}.` },
  grant_report_consequence: {
    subject: (b) => `${team(b)} 보고서 "${String(b.reportId ?? '')}" 미제출 안내`,
    body: (b, w) => `지원 ${String(b.grantId ?? '')}의 보고서 "${String(b.reportId ?? '')}"의 마감은 ${w(b.dueAt)}였으나 제출되지 않았습니다. ${CONSEQUENCE.ko[String(b.action)] ?? ''} (정책 규칙 ${String(b.rule ?? '')})`,
  },
  grant_sanction_lifted: {
    subject: (b) => `${team(b)} GPU 정상화 안내`,
    body: (b) => `지원 ${String(b.grantId ?? '')}의 보고서 "${String(b.reportId ?? '')}"이(가) 늦게 ${b.on === 'on_submission' ? '제출되었습니다' : '승인되었습니다'}. GPU ${b.lifted === 'suspend' ? '정지' : '제한'}가 해제되어 정상으로 돌아갔습니다. (정책 규칙 ${String(b.rule ?? '')})`,
  },
};

const GREETING = { en: (name: string | null) => (name ? `Dear ${name},` : 'Hello,'), ko: (name: string | null) => (name ? `${name} 님께,` : '안녕하세요,') };
const FOOTER = { en: (cycle: string) => `Cycle ${cycle}. This message was sent by Concentra.`, ko: (cycle: string) => `사업 주기 ${cycle}. 이 메시지는 Concentra가 보냈습니다.` };

/** Whether a kind has words of its own in a language (the others fall back to their name). */
export function hasTemplate(kind: string, language: Language): boolean {
  return Object.hasOwn(language === 'ko' ? KO : EN, kind);
}

export function render(kind: string, body: Body, ctx: RenderContext): RenderedMessage {
  const when = (iso: unknown) => formatInstant(iso, ctx.language, ctx.timeZone);
  const table = ctx.language === 'ko' ? KO : EN;
  const template: Template = table[kind] ?? { subject: () => `${kind} (${ctx.cycleId})`, body: () => `${kind}` };
  const subject = template.subject(body, when);
  const lines = [GREETING[ctx.language](ctx.recipientName), '', template.body(body, when), '', FOOTER[ctx.language](ctx.cycleId)];
  const html =
    `<!doctype html><html lang="${ctx.language}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>` +
    lines.filter((l) => l !== '').map((l) => `<p>${escapeHtml(l)}</p>`).join('') +
    `</body></html>`;
  return { subject, text: lines.join('\n'), html };
}

/** An instant in the recipient's zone, e.g. `1 March 2027 at 09:00 GMT+9` / `2027년 3월 1일 09:00 GMT+9`. */
export function formatInstant(iso: unknown, language: Language, timeZone: string): string {
  const date = new Date(typeof iso === 'string' || typeof iso === 'number' ? iso : NaN);
  if (Number.isNaN(date.getTime())) return String(iso ?? '');
  return new Intl.DateTimeFormat(language === 'ko' ? 'ko-KR' : 'en-GB', {
    year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone, timeZoneName: 'short',
  }).format(date);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
