import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The bank client serves dist/ at "/" (`finsecure-bank console` or `start --console-port`).
// `npm run dev -w @finsecure/console` proxies the API to a local console.
const CONSOLE = process.env.FINSECURE_CONSOLE_URL ?? 'http://127.0.0.1:8081';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // recharts is most of the bundle; one chunk is fine for a page served on the bank's own host.
    chunkSizeWarningLimit: 1200,
  },
  server: { proxy: { '/api': { target: CONSOLE, changeOrigin: true } } },
});
