import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Embeddable widget: one self-contained IIFE, dist/embed.js, CSS injected at runtime.
// React 19 + react-dom alone is ~75 KB gzipped, so the embed runs the same
// components on preact/compat (~ a quarter of that). The standalone page keeps React.
export default defineConfig({
  plugins: [react()],
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
