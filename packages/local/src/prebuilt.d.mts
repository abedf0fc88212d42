/** Where the bundles go, relative to the repository root. */
export declare const DIST: string;
/** Builds `entries` (output name -> source file) into DIST/<group>/ unless fresh (`onBuild` called before a build; `splitting`: shared code in chunks of its own); the output paths by name. */
export declare function prebuild<T extends Record<string, string>>(
  group: string,
  entries: T,
  root: string,
  options?: { splitting?: boolean; onBuild?: () => void },
): Promise<Record<keyof T, string>>;
