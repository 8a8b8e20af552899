import { writeFileSync } from 'node:fs'
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The studio serves the build from the causeway binary (frontend/embed.go).
// `npm run dev` proxies the API to a studio on 127.0.0.1:7070.
export default defineConfig({
  plugins: [
    react(),
    {
      // emptyOutDir removes dist/.gitignore, which keeps the build out of
      // git and the embed pattern valid on a fresh checkout: put it back.
      name: 'keep-dist-gitignore',
      closeBundle() {
        writeFileSync('dist/.gitignore', '*\n!.gitignore\n')
      },
    },
  ],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': { target: 'http://127.0.0.1:7070', ws: true } } },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
})
