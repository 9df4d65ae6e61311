import { version } from "../package.json";

/** The version of llem's packages (released together), recorded in every file llem writes. */
export const LLEM_VERSION: string = version;
