import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const backend = 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  // Django (ServeStatic) serves the built assets under /static/ and
  // index.html itself at /, so asset URLs must be prefixed accordingly.
  base: '/static/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  server: {
    // In development the Django backend runs separately; forwarding these
    // paths keeps requests same-origin so session cookies keep working.
    proxy: {
      '/api': backend,
      '/admin': backend,
      // Django admin's own static files must come from Django, not from Vite,
      // even though they share the /static/ prefix with our base.
      '/static/admin': backend,
      '/ws': { target: backend, ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{js,jsx}'],
    setupFiles: ['./src/test/setup.js'],
    restoreMocks: true,
    // jsdom renders slowly on a busy 2-core machine (CI shares it with the Python suite's
    // services): a test that takes 6 s there is slow, not broken. A hang still fails.
    testTimeout: 30000,
  },
});
