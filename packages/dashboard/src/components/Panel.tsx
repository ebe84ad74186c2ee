import { Component, type ErrorInfo, type ReactNode } from 'react';

/**
 * One dashboard panel: a titled section whose content renders inside its own error
 * boundary, so that a value the view did not expect (a null in a numeric field, a new
 * field shape from a newer aggregator) costs that panel only: it shows "this panel failed:
 * <message>" and the rest of the page keeps rendering and updating.
 */
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
  // The title stays visible when the content fails, so the reader knows which panel it was.
  const fallbackHead = (
    <header className="panel-head">
      <div>
        <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
      </div>
    </header>
  );
  return (
    <section
      id={id}
      className={`panel ${className ?? ''}`}
      data-testid={testId}
      aria-labelledby={id ? `${id}-title` : undefined}
    >
      <PanelBoundary name={testId ?? title} fallbackHead={fallbackHead}>
        <header className="panel-head">
          <div>
            <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
            {subtitle && <p className="panel-sub">{subtitle}</p>}
          </div>
          {actions && <div className="panel-actions">{actions}</div>}
        </header>
        <InjectedFault name={testId} />
        {children}
      </PanelBoundary>
    </section>
  );
}

interface BoundaryProps {
  /** Names the panel in the console message. */
  name: string;
  /** Shown above the failure message (e.g. the panel's title), outside the failed subtree. */
  fallbackHead?: ReactNode;
  children: ReactNode;
}

/**
 * React error boundary (a class component: React has no hook for this). Catches errors
 * thrown while rendering its subtree. It retries when the parent renders new children
 * (e.g. the next live update), so a panel recovers by itself once the data is good again.
 */
export class PanelBoundary extends Component<BoundaryProps, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`dashboard panel "${this.props.name}" failed:`, error, info.componentStack);
  }

  override componentDidUpdate(prev: BoundaryProps): void {
    if (this.state.error && prev.children !== this.props.children) this.setState({ error: null });
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <>
        {this.props.fallbackHead}
        <p className="panel-failed text-error" role="alert" data-testid="panel-failed">
          this panel failed: {error.message}
        </p>
      </>
    );
  }
}

/**
 * Fault injection for support and for the browser tests: `?panelFault=<panel test id>`
 * (e.g. `?panelFault=rounds`) makes that one panel throw while rendering, to check that
 * the page survives a failing panel. Affects only the page that carries the parameter.
 */
function InjectedFault({ name }: { name: string | undefined }): null {
  if (name !== undefined && typeof location !== 'undefined') {
    const wanted = new URLSearchParams(location.search).get('panelFault');
    if (wanted === name) throw new Error(`injected fault (panelFault=${name})`);
  }
  return null;
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
