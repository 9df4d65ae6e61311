import * as fsp from "node:fs/promises";
import { basename } from "node:path";
import type { ManifestFs } from "../src/index.js";

export type FsOperation = "open" | "rename" | "link" | "writeFile" | "write" | "sync" | "datasync";

/** A ManifestFs that throws `errno` for the operations `shouldFail` picks (on the file's name). */
export function failingFs(
  shouldFail: (op: FsOperation, name: string) => boolean,
  errno = "ENOSPC",
): ManifestFs {
  const fail = (op: FsOperation, path: string) => {
    if (shouldFail(op, basename(path))) {
      const error = new Error(
        `${errno}: simulated failure, ${op} '${path}'`,
      ) as NodeJS.ErrnoException;
      error.code = errno;
      throw error;
    }
  };
  return {
    ...fsp,
    rename: async (from, to) => {
      fail("rename", String(to));
      return fsp.rename(from, to);
    },
    link: async (from, to) => {
      fail("link", String(to));
      return fsp.link(from, to);
    },
    open: (async (path: string, flags?: string, mode?: number) => {
      fail("open", String(path));
      const handle = await fsp.open(path, flags, mode);
      return new Proxy(handle, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== "function") return value;
          if (["writeFile", "write", "sync", "datasync"].includes(String(property))) {
            return (...args: unknown[]) => {
              fail(property as FsOperation, String(path));
              return value.apply(target, args);
            };
          }
          return value.bind(target);
        },
      });
    }) as ManifestFs["open"],
  };
}
