import type { ReactNode } from 'react';

export function Panel({
  id,
  title,
  subtitle,
  actions,
  testId,
  className,
  children,
}: {
  id?: string;
  title: string;
  subtitle?: ReactNode;
  actions?: ReactNode;
  testId?: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <section
      id={id}
      className={`panel ${className ?? ''}`}
      data-testid={testId}
      aria-labelledby={id ? `${id}-title` : undefined}
    >
      <header className="panel-head">
        <div>
          <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
          {subtitle && <p className="panel-sub">{subtitle}</p>}
        </div>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** What a person sees instead of an empty chart or table: what is going on, and what happens next. */
export function EmptyState({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="empty" data-testid={testId ?? 'empty-state'}>
      <p className="empty-title">{title}</p>
      {children && <p className="empty-body">{children}</p>}
    </div>
  );
}
