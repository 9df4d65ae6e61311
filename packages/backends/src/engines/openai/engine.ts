import { type ExperimentConfig, LlemError } from "@llem/schema";
import { describeFetchError } from "../../load/stream-request.js";
import { HttpEngine } from "../../servers/http-engine.js";
import type { PreparedModel } from "../types.js";
import { openAiSection } from "./section.js";

/**
 * An OpenAI-compatible endpoint llem does not start (`openai.endpoint`): `prepare` checks that it
 * answers `GET /v1/models` (with the API key, when `openai.api_key_env` names one), and the
 * window drives it like any server engine. The key is read from the environment here, sent only
 * as the Authorization header, and never logged or written: settings and errors name the
 * variable, not its value.
 */
export class OpenAiEngine extends HttpEngine {
  private modelsSeen: string[] = [];

  constructor(config: ExperimentConfig) {
    super("openai", config);
  }

  protected async connect() {
    const section = openAiSection(this.config);
    const baseUrl = baseUrlOf(section.endpoint ?? "");
    const headers: Record<string, string> = {};
    if (section.api_key_env !== null) {
      const key = process.env[section.api_key_env];
      if (!key) {
        throw new LlemError(
          "CONFIG_INVALID",
          `openai.api_key_env names ${section.api_key_env}, but that environment variable is not set`,
          { details: { field: "openai.api_key_env" } },
        );
      }
      headers.authorization = `Bearer ${key}`;
    }
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/v1/models`, {
        headers,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new LlemError(
        "SERVER_NOT_READY",
        `the openai endpoint ${baseUrl} did not answer GET /v1/models: ${describeFetchError(error)}`,
      );
    }
    if (!response.ok) {
      throw new LlemError(
        "SERVER_NOT_READY",
        `the openai endpoint ${baseUrl} answered GET /v1/models with HTTP ${response.status}${response.status === 401 ? " (check the API key)" : ""}`,
      );
    }
    const listed = (await response.json().catch(() => null)) as {
      data?: { id?: unknown }[];
    } | null;
    this.modelsSeen = (listed?.data ?? []).flatMap((model) =>
      typeof model.id === "string" ? [model.id] : [],
    );
    const model: PreparedModel = {
      name: this.config.task.model,
      path: null,
      parameters: null,
      fileSizeBytes: null,
      weightType: null,
      modelBytes: null,
    };
    return {
      endpoint: {
        baseUrl,
        model: this.config.task.model,
        headers,
        extras: { ...(section.ignore_eos ? { ignore_eos: true } : {}), ...section.extra_body },
        includeUsage: true,
      },
      model,
    };
  }

  versions(): Record<string, string> {
    return {};
  }

  override resolvedSettings(): Record<string, unknown> {
    const section = openAiSection(this.config);
    return {
      ...super.resolvedSettings(),
      endpoint: baseUrlOf(section.endpoint ?? ""),
      api_key_env: section.api_key_env,
      endpoint_models: this.modelsSeen,
      server_fresh: null,
    };
  }

  async dispose(): Promise<void> {
    this.releaseConnections();
  }
}

/** The endpoint without a trailing `/` or `/v1`: routes are added as `/v1/…`. */
export function baseUrlOf(endpoint: string): string {
  return endpoint.replace(/\/+$/, "").replace(/\/v1$/, "");
}
