import { createRoot, type Root } from 'react-dom/client';
import { embedApiBase } from './config';
import { EmbedApp } from './EmbedApp';
import css from './styles.css?inline';

export interface MountOptions {
  /** API origin (and optional path prefix). Defaults to the embed script's origin. */
  apiBase?: string;
}

export interface MountHandle {
  unmount(): void;
}

const STYLE_ID = 'tandem-support-styles';
const script = document.currentScript as HTMLScriptElement | null;
const roots = new WeakMap<Element, Root>();

function injectStyles(): void {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = css;
  (document.head || document.documentElement).appendChild(style);
}

function resolveTarget(el: Element | string): Element | null {
  return typeof el === 'string' ? document.querySelector(el) : el;
}

export function mount(el: Element | string, options: MountOptions = {}): MountHandle {
  const target = resolveTarget(el);
  if (!target) throw new Error(`TandemSupport: mount target not found: ${String(el)}`);
  injectStyles();
  roots.get(target)?.unmount();
  const root = createRoot(target);
  roots.set(target, root);
  root.render(<EmbedApp apiBase={embedApiBase(script, options.apiBase)} />);
  return {
    unmount() {
      root.unmount();
      roots.delete(target);
    },
  };
}

declare global {
  interface Window {
    TandemSupport?: { mount: typeof mount; version: string };
  }
}

window.TandemSupport = { mount, version: '1' };

function autoMount(): void {
  if (!script) return;
  const selector = script.getAttribute('data-target') || '#tandem-support';
  const target = document.querySelector(selector);
  if (target && !roots.has(target)) mount(target);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', autoMount, { once: true });
} else {
  autoMount();
}
