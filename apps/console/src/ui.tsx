import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from './api';
import { useSession } from './session';

export function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export function Problem({ error }: { error: unknown }) {
  if (!error) return null;
  const fields = error instanceof ApiError ? error.fields : [];
  return (
    <div role="alert" className="problem">
      <p>{error instanceof Error ? error.message : String(error)}</p>
      {fields.length > 0 && (
        <ul>
          {fields.map((f) => (
            <li key={f.field}>
              <code>{f.field}</code>: {f.reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A labelled input; every control in the console has a visible label. */
export function Field({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}

/** A form that sends one command, shows its refusal (with the fields) or "done", and refreshes the reads. */
export function CommandForm({ label, send, children, className }: { label: string; send: () => Promise<unknown>; children?: ReactNode; className?: string }) {
  const { t } = useSession();
  const client = useQueryClient();
  const [done, setDone] = useState(false);
  const mutation = useMutation({
    mutationFn: send,
    onSuccess: async () => {
      setDone(true);
      await client.invalidateQueries();
    },
    onMutate: () => setDone(false),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    mutation.mutate();
  };
  return (
    <form onSubmit={submit} className={className ?? 'command'} aria-label={label}>
      {children}
      <button type="submit" disabled={mutation.isPending}>
        {label}
      </button>
      <Problem error={mutation.error} />
      {done && <p role="status">{t('sent')}</p>}
    </form>
  );
}

export function Loading({ error, children, ready }: { error: unknown; ready: boolean; children: () => ReactNode }) {
  const { t } = useSession();
  if (error) return <Problem error={error} />;
  if (!ready) return <p aria-busy="true">{t('loading')}</p>;
  return <>{children()}</>;
}
