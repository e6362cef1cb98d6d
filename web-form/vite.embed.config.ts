import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * The embed runs on other people's pages, which may not declare a charset: a browser then
 * reads the script as windows-1252 and every non-ASCII character in it (the minifier turns
 * `\u00a0` escapes back into characters) breaks it. So the bundle is ASCII only.
 */
function asciiOnly(): Plugin {
  return {
    name: 'ascii-only',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk') {
          chunk.code = chunk.code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        }
      }
    },
  };
}

// Embeddable widget: one self-contained IIFE, dist/embed.js, CSS injected at runtime.
// React 19 + react-dom alone is ~75 KB gzipped, so the embed runs the same
// components on preact/compat (~ a quarter of that). The standalone page keeps React.
export default defineConfig({
  plugins: [react(), asciiOnly()],
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  resolve: {
    alias: [
      { find: /^react\/jsx-runtime$/, replacement: 'preact/jsx-runtime' },
      { find: /^react\/jsx-dev-runtime$/, replacement: 'preact/jsx-runtime' },
      { find: /^react-dom\/client$/, replacement: 'preact/compat/client' },
      { find: /^react-dom$/, replacement: 'preact/compat' },
      { find: /^react$/, replacement: 'preact/compat' },
    ],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2020',
    minify: true,
    lib: {
      entry: 'src/embed.tsx',
      formats: ['iife'],
      name: 'TandemSupportEmbed',
      fileName: () => 'embed.js',
    },
  },
});
