import { normalizeApiBase } from './api';

/** Standalone page: same origin unless `<meta name="support-api-base" content="...">`. */
export function standaloneApiBase(doc: Document = document): string {
  const meta = doc.querySelector<HTMLMetaElement>('meta[name="support-api-base"]');
  return normalizeApiBase(meta?.content ?? '');
}

/** Embed: `data-api-base` on the script tag, else the script's own origin. */
export function embedApiBase(script: HTMLScriptElement | null, explicit?: string | null): string {
  if (explicit != null && explicit.trim() !== '') return normalizeApiBase(explicit);
  const fromAttr = script?.getAttribute('data-api-base');
  if (fromAttr != null && fromAttr.trim() !== '') return normalizeApiBase(fromAttr);
  if (script?.src) {
    try {
      return new URL(script.src, document.baseURI).origin;
    } catch {
      /* fall through */
    }
  }
  return '';
}

/** Parses `#/status/<id>` → {view:'status', id}; anything else is the form. */
export function parseHash(hash: string): { view: 'form' } | { view: 'status'; id: string } {
  const h = hash.replace(/^#/, '');
  const m = /^\/status(?:\/([^/?#]*))?\/?$/.exec(h);
  if (m) return { view: 'status', id: safeDecode(m[1] ?? '') };
  return { view: 'form' };
}

export function statusHash(id: string): string {
  return `#/status/${encodeURIComponent(id)}`;
}

/** A URI component decoded, or as it is when it is not valid %-encoding. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
