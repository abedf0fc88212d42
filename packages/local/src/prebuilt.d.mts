/** Where the bundles go, relative to the repository root. */
export declare const DIST: string;
/** Builds `entries` (output name -> source file) into DIST/<group>/ unless fresh; the output paths by name. */
export declare function prebuild<T extends Record<string, string>>(group: string, entries: T, root: string, options?: { splitting?: boolean }): Promise<Record<keyof T, string>>;
