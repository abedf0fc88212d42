/** The object-store port: S3 in AWS, a plain folder in the local AWS. Keys are S3-style paths. */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";

export interface StoredObject {
  body: string;
  lastModified: Date;
}

export interface BlobStore {
  /** Writes the whole object; writing the same key again replaces it (idempotent by key). */
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** The object and when it was last written (S3's LastModified, a file's mtime). */
  getObject(key: string): Promise<StoredObject | undefined>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentTypeOf(key) }),
    );
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.getObject(key))?.body;
  }

  async getObject(key: string): Promise<StoredObject | undefined> {
    try {
      const result = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        body: (await result.Body?.transformToString("utf8")) ?? "",
        lastModified: result.LastModified ?? new Date(),
      };
    } catch (error) {
      if ((error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

/** A folder standing in for a bucket: `<root>/<key>`. Writes are atomic (temp file + rename). */
export class FolderBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  private path(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  async put(key: string, body: string): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temp, body);
    await rename(temp, path);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.getObject(key))?.body;
  }

  async getObject(key: string): Promise<StoredObject | undefined> {
    try {
      const path = this.path(key);
      const [body, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
      return { body, lastModified: info.mtime };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      },
    );
    return entries
      .filter((entry) => entry.isFile() && !entry.name.endsWith(".tmp"))
      .map((entry) => relative(this.root, join(entry.parentPath, entry.name)).split(sep).join("/"))
      .filter((key) => key.startsWith(prefix))
      .sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}

function contentTypeOf(key: string): string {
  return key.endsWith(".jsonl") || key.endsWith(".json") ? "application/x-ndjson" : "application/octet-stream";
}
