/** Redrive's FunctionInvoker on AWS: a synchronous Lambda Invoke of the function that failed the batch. */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { FunctionInvoker, ReplayEvent } from "@trip-pipeline/core/streams/redrive";

export class LambdaInvoker implements FunctionInvoker {
  constructor(private readonly lambda: LambdaClient) {}

  async invoke(functionArn: string, event: ReplayEvent): Promise<unknown> {
    const result = await this.lambda.send(
      new InvokeCommand({
        FunctionName: functionArn,
        InvocationType: "RequestResponse",
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
    const text = result.Payload ? Buffer.from(result.Payload).toString("utf8") : "";
    // A function error (a throw, a timeout) comes back as a 200 with FunctionError set.
    if (result.FunctionError) throw new Error(`${result.FunctionError}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : null;
  }
}
