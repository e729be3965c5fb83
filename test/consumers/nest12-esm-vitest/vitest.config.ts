import { defineConfig } from 'vitest/config';

// As `nest new` (CLI 12) scaffolds it.
export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    globals: true,
    root: './',
    include: ['**/*.spec.ts'],
  },
});
