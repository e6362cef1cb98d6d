import { useState } from 'react';

let counter = 0;

/** A stable id prefix per component instance, safe in CSS selectors and ids. */
export function useIdPrefix(base: string): string {
  const [id] = useState(() => `${base}${++counter}`);
  return id;
}
