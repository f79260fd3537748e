// Loading, empty and error states, the same on every page.

export function Loading({ label = 'Loading…' }) {
  return (
    <div className="state state--loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorState({ error, onRetry, title = 'Something went wrong' }) {
  return (
    <div className="state state--error" role="alert">
      <strong>{title}</strong>
      <span>{error?.message ?? String(error)}</span>
      {onRetry && (
        <button type="button" className="button button--small" onClick={() => onRetry()}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }) {
  return (
    <div className="state state--empty">
      <strong>{title}</strong>
      {children && <span>{children}</span>}
    </div>
  );
}

/** Renders the states of a TanStack query, or its data through children(data). */
export function QueryState({ query, loading, errorTitle, children }) {
  if (query.isPending) return <Loading label={loading} />;
  if (query.isError) return <ErrorState error={query.error} title={errorTitle} onRetry={query.refetch} />;
  return children(query.data);
}
