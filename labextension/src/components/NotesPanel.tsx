import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { HubClient } from '../client_hub';
import { formatAgo, formatDate } from '../format';
import { useAction, usePoll } from '../hooks';
import { IEntityRef, INote, INoteAnchor, INotesQuery } from '../models_hub';
import { SafeHTML } from './HubText';
import { ErrorState, Loading } from './States';

/** How often an open notes list is refreshed (ms). */
export const NOTES_POLL_MS = 15000;

const ME_KEY = 'labcycle:me';

/**
 * Who "I" am for the notes UI: the server records the author itself (the
 * Jupyter user, or the server's owner on a single-user server), so the name
 * is learnt from the author of the first note written here and remembered.
 */
export function knownMe(): string | null {
  try {
    return window.localStorage.getItem(ME_KEY);
  } catch {
    return null;
  }
}

function rememberMe(author: string): void {
  try {
    window.localStorage.setItem(ME_KEY, author);
  } catch {
    // Storage refused (private mode): only this session forgets it.
  }
}

export interface INotesPanelProps {
  hub: HubClient;
  /** The entity whose notes are shown and written. */
  entity: IEntityRef;
  /** Poll while true. */
  active: boolean;
  refresh?: ISignal<unknown, void>;
  /** Sanitiser for the server's `html` (JupyterLab's). */
  sanitize: (html: string) => string;
  /** Which notes to list (default: the entity's). */
  query?: INotesQuery;
  /** Only notes that pass (e.g. those anchored on one cell). */
  filter?: (note: INote) => boolean;
  /** New top-level notes are anchored here (a snapshot cell). */
  anchor?: INoteAnchor;
  /** Users offered after `@` (members, owners, authors). */
  users?: string[];
  /** Called with the number of notes shown, after each load. */
  onCount?: (count: number) => void;
  /** Open a run (a note's anchor). */
  onOpenAnchor?: (anchor: INoteAnchor) => void;
  compact?: boolean;
  placeholder?: string;
}

/**
 * The notes of an entity: threads in Markdown (rendered by the server,
 * sanitised again here), with replies, @mentions and, for the author, edit
 * and delete. Reused by the project, run and model version tabs.
 */
export function NotesPanel(props: INotesPanelProps): JSX.Element {
  const { hub, entity, active, refresh, filter } = props;
  const query = props.query ?? {
    entity_type: entity.type,
    entity_id: entity.id
  };
  const queryKey = JSON.stringify(query);
  const fetchNotes = React.useCallback(
    () => hub.listNotes(query),
    [hub, queryKey]
  );
  const notes = usePoll<INote[]>(fetchNotes, {
    interval: NOTES_POLL_MS,
    active,
    key: `notes:${queryKey}`,
    refresh
  });
  const [me, setMe] = React.useState<string | null>(knownMe);
  const learn = (note: INote) => {
    rememberMe(note.author);
    setMe(note.author);
  };

  const shown = React.useMemo(
    () => (notes.data ?? []).filter(note => !filter || filter(note)),
    [notes.data, filter]
  );
  React.useEffect(() => {
    if (notes.data && props.onCount) {
      props.onCount(shown.length);
    }
  }, [shown.length, notes.data !== undefined]);

  const users = React.useMemo(() => {
    const names = new Set(props.users ?? []);
    (notes.data ?? []).forEach(note => names.add(note.author));
    return [...names].filter(Boolean).sort();
  }, [props.users, notes.data]);

  const threads = React.useMemo(() => {
    const ids = new Set(shown.map(n => n.id));
    const children = new Map<string, INote[]>();
    const roots: INote[] = [];
    for (const note of shown) {
      if (note.parent_id && ids.has(note.parent_id)) {
        const list = children.get(note.parent_id) ?? [];
        list.push(note);
        children.set(note.parent_id, list);
      } else {
        roots.push(note);
      }
    }
    return { roots, children };
  }, [shown]);

  const add = async (body: string) => {
    const created = await hub.createNote({
      body,
      ...(props.anchor
        ? { anchor: props.anchor, entity }
        : { entity: { type: entity.type, id: entity.id } })
    });
    learn(created);
    notes.reload();
  };

  const context: INoteContext = {
    hub,
    me,
    users,
    sanitize: props.sanitize,
    children: threads.children,
    reload: notes.reload,
    learn,
    onOpenAnchor: props.onOpenAnchor
  };

  return (
    <div
      className={`lc-notes${props.compact ? ' lc-notes-compact' : ''}`}
      data-entity-type={entity.type}
      data-entity-id={entity.id}
      data-count={notes.data ? shown.length : undefined}
    >
      {!notes.data && notes.error && (
        <ErrorState
          title="Cannot load notes"
          error={notes.error}
          onRetry={notes.reload}
        />
      )}
      {!notes.data && !notes.error && <Loading label="Loading notes…" />}
      {notes.data && threads.roots.length === 0 && (
        <div className="lc-muted lc-notes-empty">No notes yet.</div>
      )}
      {threads.roots.length > 0 && (
        <ul className="lc-note-list">
          {threads.roots.map(note => (
            <NoteItem key={note.id} note={note} context={context} depth={0} />
          ))}
        </ul>
      )}
      <NoteEditor
        users={users}
        placeholder={
          props.placeholder ??
          'Write a note in Markdown; @name mentions a user.'
        }
        submitLabel="Add note"
        onSubmit={add}
      />
    </div>
  );
}

interface INoteContext {
  hub: HubClient;
  me: string | null;
  users: string[];
  sanitize: (html: string) => string;
  children: Map<string, INote[]>;
  reload: () => void;
  learn: (note: INote) => void;
  onOpenAnchor?: (anchor: INoteAnchor) => void;
}

function NoteItem(props: {
  note: INote;
  context: INoteContext;
  depth: number;
}): JSX.Element {
  const { note, context } = props;
  const [mode, setMode] = React.useState<'view' | 'edit' | 'reply'>('view');
  const { busy, error, run } = useAction();
  // Before the user's name is known, the server decides (403 for others).
  const mine = context.me === null || context.me === note.author;
  const replies = context.children.get(note.id) ?? [];
  const anchor = note.anchor;

  const remove = async () => {
    if (!window.confirm('Delete this note and its replies?')) {
      return;
    }
    await run(async () => {
      await context.hub.deleteNote(note.id);
      context.reload();
    });
  };

  return (
    <li
      className="lc-note"
      data-note-id={note.id}
      data-author={note.author}
      data-depth={props.depth}
    >
      <div className="lc-note-head">
        <span className="lc-note-author">{note.author}</span>
        <span
          className="lc-muted lc-note-time"
          title={note.created_at ? formatDate(note.created_at) : undefined}
        >
          {note.created_at ? formatAgo(note.created_at, Date.now()) : ''}
          {note.edited ? ' · edited' : ''}
        </span>
        {anchor && (
          <button
            className="lc-link-button lc-note-anchor"
            title={anchor.excerpt ?? undefined}
            onClick={() => context.onOpenAnchor?.(anchor)}
            disabled={!context.onOpenAnchor}
          >
            cell {(anchor.cell_index ?? 0) + 1}
            {anchor.artifact ? ` of ${anchor.artifact}` : ''}
          </button>
        )}
        <span className="lc-note-actions">
          <button
            className="lc-link-button lc-note-reply"
            onClick={() => setMode(mode === 'reply' ? 'view' : 'reply')}
          >
            Reply
          </button>
          {mine && (
            <>
              <button
                className="lc-link-button lc-note-edit"
                onClick={() => setMode(mode === 'edit' ? 'view' : 'edit')}
                disabled={busy}
              >
                Edit
              </button>
              <button
                className="lc-link-button lc-note-delete"
                onClick={() => void remove()}
                disabled={busy}
              >
                Delete
              </button>
            </>
          )}
        </span>
      </div>
      {mode === 'edit' ? (
        <NoteEditor
          users={context.users}
          initial={note.body}
          submitLabel="Save"
          onCancel={() => setMode('view')}
          onSubmit={async body => {
            const updated = await context.hub.updateNote(note.id, { body });
            context.learn(updated);
            setMode('view');
            context.reload();
          }}
        />
      ) : note.html !== null ? (
        <SafeHTML
          className="lc-note-body jp-RenderedHTMLCommon"
          html={note.html}
          sanitize={context.sanitize}
        />
      ) : (
        <div className="lc-note-body lc-note-plain">{note.body}</div>
      )}
      {error && (
        <div className="lc-form-error" role="alert">
          {error}
        </div>
      )}
      {mode === 'reply' && (
        <NoteEditor
          users={context.users}
          placeholder={`Reply to ${note.author}…`}
          submitLabel="Reply"
          onCancel={() => setMode('view')}
          onSubmit={async body => {
            const created = await context.hub.createNote({
              body,
              parent_id: note.id
            });
            context.learn(created);
            setMode('view');
            context.reload();
          }}
        />
      )}
      {replies.length > 0 && (
        <ul className="lc-note-replies">
          {replies.map(reply => (
            <NoteItem
              key={reply.id}
              note={reply}
              context={context}
              depth={props.depth + 1}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

/** The `@prefix` being typed just before the caret, if any. */
export function mentionPrefix(text: string, caret: number): string | null {
  const match = /(^|[\s(])@([\w.-]*)$/.exec(text.slice(0, caret));
  return match ? match[2] : null;
}

/** A Markdown text area with @mention completion and a submit button. */
export function NoteEditor(props: {
  users: string[];
  initial?: string;
  placeholder?: string;
  submitLabel: string;
  onSubmit: (body: string) => Promise<void>;
  onCancel?: () => void;
}): JSX.Element {
  const [text, setText] = React.useState(props.initial ?? '');
  const { busy, error, setError, run } = useAction();
  const [prefix, setPrefix] = React.useState<string | null>(null);
  const area = React.useRef<HTMLTextAreaElement>(null);
  const matches =
    prefix === null
      ? []
      : props.users
          .filter(u => u.toLowerCase().startsWith(prefix.toLowerCase()))
          .slice(0, 6);

  const track = (value: string) => {
    setText(value);
    const caret = area.current?.selectionStart ?? value.length;
    setPrefix(mentionPrefix(value, caret));
  };
  const complete = (user: string) => {
    const node = area.current;
    const caret = node?.selectionStart ?? text.length;
    const before = text.slice(0, caret).replace(/@[\w.-]*$/, `@${user} `);
    const next = before + text.slice(caret);
    setText(next);
    setPrefix(null);
    window.requestAnimationFrame(() => {
      node?.focus();
      node?.setSelectionRange(before.length, before.length);
    });
  };
  const submit = async () => {
    if (!text.trim()) {
      setError('Write something first.');
      return;
    }
    await run(async () => {
      await props.onSubmit(text);
      setText('');
      setPrefix(null);
    });
  };

  return (
    <div className="lc-note-editor">
      <textarea
        ref={area}
        className="jp-mod-styled lc-note-input"
        value={text}
        rows={3}
        placeholder={props.placeholder}
        onChange={event => track(event.target.value)}
        onKeyDown={event => {
          if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            void submit();
          } else if (event.key === 'Tab' && matches.length > 0) {
            event.preventDefault();
            complete(matches[0]);
          } else if (event.key === 'Escape') {
            setPrefix(null);
          }
        }}
        disabled={busy}
      />
      {matches.length > 0 && (
        <ul className="lc-mentions" role="listbox" aria-label="Mention a user">
          {matches.map(user => (
            <li key={user}>
              <button
                className="lc-mention-option"
                onMouseDown={event => {
                  event.preventDefault();
                  complete(user);
                }}
              >
                @{user}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <div className="lc-form-error" role="alert">
          {error}
        </div>
      )}
      <div className="lc-note-editor-actions">
        <span className="lc-muted lc-note-hint">Markdown · Ctrl+Enter</span>
        {props.onCancel && (
          <button
            className="jp-Button jp-mod-styled jp-mod-reject"
            onClick={props.onCancel}
            disabled={busy}
          >
            Cancel
          </button>
        )}
        <button
          className="jp-Button jp-mod-styled jp-mod-accept lc-note-submit"
          onClick={() => void submit()}
          disabled={busy}
        >
          {busy ? 'Saving…' : props.submitLabel}
        </button>
      </div>
    </div>
  );
}
