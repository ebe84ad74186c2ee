import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The aggregator serves dist/ at "/" (unknown paths fall back to index.html).
// `npm run dev -w @finsecure/dashboard` proxies the API and the live stream to a local aggregator.
const AGGREGATOR = process.env.FINSECURE_AGGREGATOR_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // recharts is most of the bundle; one chunk is fine for an internal admin page.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': { target: AGGREGATOR, changeOrigin: true },
      '/ws': { target: AGGREGATOR, ws: true, changeOrigin: true },
    },
  },
});
