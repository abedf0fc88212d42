import { defineConfig } from "vite";

// The page is served from the site's root (CloudFront, or `pnpm start --serve` on 127.0.0.1).
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
});
