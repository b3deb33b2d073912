import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import * as React from 'react';

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0'
};

/** Decode the entities an HTML escaper writes (named, decimal, hex). */
export function decodeEntities(text: string): string {
  return text.replace(
    /&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi,
    (whole, code: string) => {
      if (code[0] === '#') {
        const n =
          code[1] === 'x' || code[1] === 'X'
            ? parseInt(code.slice(2), 16)
            : parseInt(code.slice(1), 10);
        return Number.isFinite(n) && n > 0 && n <= 0x10ffff
          ? String.fromCodePoint(n)
          : whole;
      }
      return ENTITIES[code.toLowerCase()] ?? whole;
    }
  );
}

/**
 * Split a search snippet (escaped text with `<mark>…</mark>` around matches)
 * into plain and marked pieces. Nothing else in it is ever taken as markup:
 * any other tag stays visible text.
 */
export function parseSnippet(
  snippet: string
): Array<{ text: string; mark: boolean }> {
  const parts: Array<{ text: string; mark: boolean }> = [];
  let mark = false;
  for (const piece of (snippet ?? '').split(/(<mark>|<\/mark>)/)) {
    if (piece === '<mark>') {
      mark = true;
    } else if (piece === '</mark>') {
      mark = false;
    } else if (piece) {
      parts.push({ text: decodeEntities(piece), mark });
    }
  }
  return parts;
}

/** A search snippet as React text nodes and `<mark>` elements (no innerHTML). */
export function Snippet(props: {
  snippet: string;
  className?: string;
}): JSX.Element {
  return (
    <span className={props.className ?? 'lc-snippet'}>
      {parseSnippet(props.snippet).map((part, i) =>
        part.mark ? (
          <mark key={i}>{part.text}</mark>
        ) : (
          <React.Fragment key={i}>{part.text}</React.Fragment>
        )
      )}
    </span>
  );
}

/**
 * Markdown rendered by JupyterLab's own Markdown renderer, as untrusted
 * content: its sanitiser strips scripts, event handlers and unsafe links.
 */
export function MarkdownView(props: {
  rendermime: IRenderMimeRegistry | null;
  source: string;
  className?: string;
}): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  const { rendermime, source } = props;
  React.useEffect(() => {
    const node = host.current;
    if (!node || !rendermime) {
      return;
    }
    let disposed = false;
    const renderer = rendermime.createRenderer('text/markdown');
    const model = new MimeModel({
      data: { 'text/markdown': source },
      trusted: false
    });
    void renderer.renderModel(model).then(() => {
      if (!disposed) {
        node.replaceChildren(renderer.node);
      }
    });
    return () => {
      disposed = true;
      renderer.dispose();
    };
  }, [rendermime, source]);
  if (!rendermime) {
    // No renderer available: the Markdown as text (still safe).
    return (
      <pre className={`lc-markdown-source ${props.className ?? ''}`}>
        {source}
      </pre>
    );
  }
  return <div ref={host} className={`lc-markdown ${props.className ?? ''}`} />;
}

/**
 * HTML the server sanitised already (a note's `html`), sanitised once more by
 * JupyterLab's sanitiser before it reaches the page.
 */
export function SafeHTML(props: {
  html: string;
  sanitize: (html: string) => string;
  className?: string;
}): JSX.Element {
  const clean = React.useMemo(
    () => props.sanitize(props.html),
    [props.html, props.sanitize]
  );
  return (
    <div
      className={props.className}
      dangerouslySetInnerHTML={{ __html: clean }}
    />
  );
}

/** Sanitiser of a rendermime registry, else: escape everything. */
export function makeSanitizer(
  rendermime: IRenderMimeRegistry | null
): (html: string) => string {
  if (rendermime) {
    return html => rendermime.sanitizer.sanitize(html);
  }
  return html => {
    const div = document.createElement('div');
    div.textContent = html;
    return `<pre>${div.innerHTML}</pre>`;
  };
}

/**
 * The sanitiser views use when they are not handed one (the run tab, L2's
 * model version tab): JupyterLab's, once the hub plugin has set it.
 */
export const sharedSanitizer: { current: (html: string) => string } = {
  current: makeSanitizer(null)
};
