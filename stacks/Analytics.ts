import { Aws, type Stack } from "aws-cdk-lib";
import { CfnNamedQuery, CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import { Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { CfnCrawler, CfnDatabase, CfnJob, CfnSecurityConfiguration, CfnTable, CfnTrigger } from "aws-cdk-lib/aws-glue";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import { Cron, Function as SstFunction, type StackContext, use } from "sst/constructs";
import { CONTRACT } from "../packages/core/src/domain/contract";
import { KPI_COLUMNS, KPI_FIELDS, KPI_TYPES, ROW_KEY } from "../packages/core/src/kpi/registry";
import { FUNCTION_ENV } from "../packages/core/src/platform/config-names";
import {
  DEFAULT_DAYS_WINDOW,
  METRICS_PREFIX,
  NIGHTLY_KPI_JOB,
  TRIP_TABLE,
} from "../packages/core/src/platform/pipeline-spec";
import { ACCESS, grantAccess } from "./access";
import { ATHENA_RESULTS_PREFIX, GLUE_TEMP_PREFIX } from "./lifecycle";
import { appLogGroup, functionLogGroup, LOG_GROUP_PREFIXES, providersLogToGroups } from "./logs";
import { addDailyJobMonitoring, addKpiDriftAlarm } from "./monitoring";
import { Pipeline } from "./Pipeline";

const KPI_TABLE = "daily_trip_kpis";
const GLUE_SOURCE = "packages/glue/src";
/** Glue runs a failed run once more before the day counts as failed. */
const MAX_RETRIES = 1;

/**
 * The keys a Spark job writing under `<prefix>` touches on S3 through EMRFS: the objects under
 * it (part files, `_SUCCESS`, the committer's `_temporary/` and `.spark-staging-*` folders,
 * and the `<dir>_$folder$` markers of every folder below it), plus the marker of the folder
 * itself, `<prefix-without-slash>_$folder$`, and the key `<prefix-without-slash>`, which EMRFS
 * HEADs to tell a file from a folder. The last two lie outside `<prefix>*`.
 */
export function sparkOutputKeys(prefix: string): string[] {
  const folder = prefix.replace(/\/$/, "");
  return [`${folder}/*`, `${folder}_$folder$`, folder];
}

export function Analytics({ stack, app }: StackContext) {
  const { table, bucket, key, topic } = use(Pipeline);
  providersLogToGroups(stack, key);
  const prod = app.stage === "prod";
  // Catalog names are account-wide: only prod owns the plain name Athena users know.
  const database = prod ? "trip_kpis_db" : `trip_kpis_db_${app.stage.replace(/[^a-z0-9]/gi, "_").toLowerCase()}`;
  const jobName = `${app.stage}-${app.name}-GenerateTripMetrics`;
  const metricsUri = `s3://${bucket.bucketName}/${METRICS_PREFIX}`;
  const catalogArns = [
    `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}:catalog`,
    `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}:database/${database}`,
    `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}:table/${database}/${KPI_TABLE}`,
  ];

  // The entry script, and the trip_metrics package zipped for --extra-py-files.
  const script = new Asset(stack, "GlueScript", { path: `${GLUE_SOURCE}/generate_trip_metrics.py` });
  const library = new Asset(stack, "GlueLibrary", {
    path: GLUE_SOURCE,
    exclude: ["**/__pycache__", "*.pyc", "generate_trip_metrics.py"],
  });

  const glueLogs = new PolicyStatement({
    actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws-glue/*`],
  });

  // The security configuration encrypts the job's and the crawler's CloudWatch logs with the
  // pipeline key (its key policy lets CloudWatch Logs use it for /aws-glue/ log groups), and what
  // they write to S3. Glue then writes to log groups named after it, and associates the key.
  const securityConfiguration = new CfnSecurityConfiguration(stack, "GlueSecurityConfiguration", {
    name: `${app.stage}-${app.name}-glue`,
    encryptionConfiguration: {
      cloudWatchEncryption: { cloudWatchEncryptionMode: "SSE-KMS", kmsKeyArn: key.keyArn },
      s3Encryptions: [{ s3EncryptionMode: "SSE-KMS", kmsKeyArn: key.keyArn }],
      // Bookmarks are off (--job-bookmark-option), but encrypted should they ever be turned on.
      jobBookmarksEncryption: { jobBookmarksEncryptionMode: "CSE-KMS", kmsKeyArn: key.keyArn },
    },
  });
  const glueLogKey = new PolicyStatement({
    actions: ["logs:AssociateKmsKey"],
    resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws-glue/*`],
  });
  // Glue's own calls to the key, for the logs and the objects it writes: exact actions.
  const glueKey = (actions: string[]) => new PolicyStatement({ actions, resources: [key.keyArn] });

  // Named: Glue names the log groups of a job or crawler with a security configuration after its role.
  const jobRole = new Role(stack, "MetricsJobRole", {
    roleName: `${app.stage}-${app.name}-MetricsJob`,
    assumedBy: new ServicePrincipal("glue.amazonaws.com"),
  });
  jobRole.addToPolicy(
    new PolicyStatement({
      actions: ["s3:GetObject"],
      resources: [script, library].map(
        (asset) => `arn:${Aws.PARTITION}:s3:::${asset.s3BucketName}/${asset.s3ObjectKey}`,
      ),
    }),
  );
  // The job reads only the per-day GSI of completed trips (Query, nothing else): never the table itself.
  jobRole.addToPolicy(
    new PolicyStatement({
      actions: ["dynamodb:Query"],
      resources: [`${table.tableArn}/index/${TRIP_TABLE.completedByDay.name}`],
    }),
  );
  // EMRFS HEADs keys that may not exist (a folder's marker, the folder as a file): S3 answers
  // 404 only to a caller allowed s3:ListBucket without a prefix condition (HEAD has no prefix),
  // 403 otherwise, which fails the job. It lists names only; reads stay on the keys below.
  jobRole.addToPolicy(new PolicyStatement({ actions: ["s3:ListBucket"], resources: [bucket.bucketArn] }));
  jobRole.addToPolicy(
    new PolicyStatement({
      actions: ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      resources: [...sparkOutputKeys(METRICS_PREFIX), ...sparkOutputKeys(GLUE_TEMP_PREFIX)].map(
        (keys) => `${bucket.bucketArn}/${keys}`,
      ),
    }),
  );
  jobRole.addToPolicy(glueLogs);
  jobRole.addToPolicy(glueLogKey);
  // CloudWatch metrics have no resource ARNs; the condition keeps the job to Glue's namespace.
  jobRole.addToPolicy(
    new PolicyStatement({
      actions: ["cloudwatch:PutMetricData"],
      resources: ["*"],
      conditions: { StringEquals: { "cloudwatch:namespace": "Glue" } },
    }),
  );
  jobRole.addToPolicy(glueKey(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]));

  const job = new CfnJob(stack, "GenerateTripMetrics", {
    name: jobName,
    description: "Daily trip KPIs per pickup day from the completed trips of the last days",
    role: jobRole.roleArn,
    glueVersion: "5.0",
    command: { name: "glueetl", pythonVersion: "3", scriptLocation: script.s3ObjectUrl },
    workerType: "G.1X",
    // Measured locally: 1M trips take seconds of Spark time; prod gets headroom for 10M/day.
    numberOfWorkers: prod ? 5 : 2,
    timeout: 60,
    maxRetries: MAX_RETRIES,
    executionProperty: { maxConcurrentRuns: 1 },
    securityConfiguration: securityConfiguration.name,
    defaultArguments: {
      "--extra-py-files": library.s3ObjectUrl,
      "--TABLE_NAME": table.tableName,
      "--GSI_NAME": TRIP_TABLE.completedByDay.name,
      "--GSI_SHARDS": String(TRIP_TABLE.completedByDay.shards),
      "--BUCKET": bucket.bucketName,
      "--METRICS_PREFIX": METRICS_PREFIX,
      "--DAYS_WINDOW": String(DEFAULT_DAYS_WINDOW),
      // The KPI registry the job computes (registry.py reads it): the contract's, as the TypeScript side reads it.
      "--KPI_REGISTRY": JSON.stringify({
        types: CONTRACT.kpis.types,
        fields: KPI_FIELDS.map(({ label: _label, description: _description, ...field }) => field),
      }),
      "--TempDir": `s3://${bucket.bucketName}/${GLUE_TEMP_PREFIX}`,
      "--job-bookmark-option": "job-bookmark-disable",
      // No --enable-continuous-cloudwatch-log: Glue 5.0 ignores it (its logs are continuous anyway).
      "--enable-metrics": "true",
    },
  });

  const catalog = new CfnDatabase(stack, "KpiDatabase", {
    catalogId: Aws.ACCOUNT_ID,
    databaseInput: { name: database, description: "Daily trip fare KPIs written by GenerateTripMetrics" },
  });

  // Declared, not inferred: the crawler would name a table after its folder ("metrics") and
  // guess money as double. It keeps this schema and adds the day partitions as they appear.
  const kpiTable = new CfnTable(stack, "DailyTripKpis", {
    catalogId: Aws.ACCOUNT_ID,
    databaseName: database,
    tableInput: {
      name: KPI_TABLE,
      tableType: "EXTERNAL_TABLE",
      parameters: { classification: "json", typeOfData: "file" },
      partitionKeys: ["year", "month", "day"].map((name) => ({ name, type: "string" })),
      storageDescriptor: {
        location: metricsUri,
        inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
        outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        serdeInfo: { serializationLibrary: "org.openx.data.jsonserde.JsonSerDe" },
        // The KPI registry's fields; a field added later reads as NULL from older days' rows.
        columns: [
          { name: ROW_KEY, type: "string" },
          ...KPI_FIELDS.map((field) => ({
            name: field.name,
            type: KPI_TYPES[field.type].athena,
            comment: field.description,
          })),
        ],
      },
    },
  });
  kpiTable.addDependency(catalog);

  const crawlerRole = new Role(stack, "KpiCrawlerRole", {
    roleName: `${app.stage}-${app.name}-KpiCrawler`,
    assumedBy: new ServicePrincipal("glue.amazonaws.com"),
  });
  crawlerRole.addToPolicy(
    new PolicyStatement({
      actions: ["s3:ListBucket"],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": [`${METRICS_PREFIX}*`] } },
    }),
  );
  crawlerRole.addToPolicy(
    new PolicyStatement({ actions: ["s3:GetObject"], resources: [`${bucket.bucketArn}/${METRICS_PREFIX}*`] }),
  );
  crawlerRole.addToPolicy(
    new PolicyStatement({
      actions: [
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:UpdateTable",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
        "glue:CreatePartition",
        "glue:BatchCreatePartition",
        "glue:UpdatePartition",
        "glue:BatchUpdatePartition",
      ],
      resources: catalogArns,
    }),
  );
  crawlerRole.addToPolicy(glueLogs);
  crawlerRole.addToPolicy(glueLogKey);
  // Decrypt to read the metrics; Encrypt and GenerateDataKey for its encrypted logs.
  crawlerRole.addToPolicy(glueKey(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]));

  const crawler = new CfnCrawler(stack, "KpiCrawler", {
    name: `${app.stage}-${app.name}-KpiCrawler`,
    role: crawlerRole.roleArn,
    databaseName: database,
    targets: { catalogTargets: [{ databaseName: database, tables: [KPI_TABLE] }] },
    // Catalog targets require LOG on delete; LOG on update keeps the declared decimal schema.
    schemaChangePolicy: { updateBehavior: "LOG", deleteBehavior: "LOG" },
    crawlerSecurityConfiguration: securityConfiguration.name,
    configuration: JSON.stringify({
      Version: 1.0,
      CrawlerOutput: { Partitions: { AddOrUpdateBehavior: "InheritFromTable" } },
    }),
  });
  crawler.addDependency(kpiTable);
  glueLogGroups(stack, securityConfiguration.name!, jobRole.roleName, crawlerRole.roleName, key);
  crawler.addDependency(securityConfiguration);
  job.addDependency(securityConfiguration);

  // Every successful job run (scheduled or manual) is followed by a crawl that adds new days.
  const trigger = new CfnTrigger(stack, "CrawlAfterJob", {
    name: `${app.stage}-${app.name}-CrawlAfterMetrics`,
    type: "CONDITIONAL",
    startOnCreation: true,
    predicate: { logical: "ANY", conditions: [{ jobName, state: "SUCCEEDED", logicalOperator: "EQUALS" }] },
    actions: [{ crawlerName: crawler.name! }],
  });
  // Names are plain strings here, not references: without these the trigger can be created
  // before the job or the crawler it names, and the first create fails.
  trigger.addDependency(job);
  trigger.addDependency(crawler);

  const schedule = new Cron(stack, "DailyMetrics", {
    schedule: NIGHTLY_KPI_JOB.schedule,
    job: {
      function: {
        handler: "packages/functions/src/start-metrics-job.handler",
        description: "Starts GenerateTripMetrics for the window ending yesterday",
        timeout: 30,
        logGroup: functionLogGroup(stack, "DailyMetrics", key),
        environment: { [FUNCTION_ENV.glueJobName]: jobName, [FUNCTION_ENV.daysWindow]: String(DEFAULT_DAYS_WINDOW) },
      },
    },
  });
  grantAccess(schedule.jobFunction, ACCESS.startMetricsJob, {
    tableArn: table.tableArn,
    bucketArn: bucket.bucketArn,
    keyArn: key.keyArn,
    metricsJobName: jobName,
  });
  addDailyJobMonitoring(stack, {
    jobName,
    maxRetries: MAX_RETRIES,
    crawlerName: crawler.name!,
    scheduler: schedule.jobFunction,
    topic,
  });

  // Live KPIs against each successful run's output, day by day: KpiDrift and its alarm.
  const reconcile = new SstFunction(stack, "ReconcileKpis", {
    handler: "packages/functions/src/reconcile-kpis.handler",
    description: "Compares the live KPIs with each successful GenerateTripMetrics run; publishes KpiDrift",
    timeout: 60,
    logGroup: functionLogGroup(stack, "ReconcileKpis", key),
    // Names only: the grants come from ACCESS.reconcileKpis.
    environment: {
      [FUNCTION_ENV.tripTable]: table.tableName,
      [FUNCTION_ENV.analyticsBucket]: bucket.bucketName,
      [FUNCTION_ENV.daysWindow]: String(DEFAULT_DAYS_WINDOW),
    },
  });
  grantAccess(reconcile, ACCESS.reconcileKpis, {
    tableArn: table.tableArn,
    bucketArn: bucket.bucketArn,
    keyArn: key.keyArn,
    metricsJobName: jobName,
  });
  new Rule(stack, "ReconcileAfterMetrics", {
    description: `Live KPIs reconciled after each successful ${jobName} run`,
    eventPattern: {
      source: ["aws.glue"],
      detailType: ["Glue Job State Change"],
      detail: { jobName: [jobName], state: ["SUCCEEDED"] },
    },
    targets: [new LambdaFunction(reconcile, { retryAttempts: 2 })],
  });
  addKpiDriftAlarm(stack, { topic, reconciler: reconcile });

  const workGroup = new CfnWorkGroup(stack, "KpiWorkGroup", {
    name: `${app.stage}-${app.name}-kpis`,
    description: "Queries over the daily trip KPIs",
    recursiveDeleteOption: !prod,
    workGroupConfiguration: {
      enforceWorkGroupConfiguration: true,
      publishCloudWatchMetricsEnabled: true,
      // A runaway query stops at 1 GB scanned (the KPI table is a few KB per day).
      bytesScannedCutoffPerQuery: 1_000_000_000,
      resultConfiguration: {
        outputLocation: `s3://${bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
        encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKey: key.keyArn },
      },
    },
  });

  new CfnNamedQuery(stack, "KpisForOneDay", {
    name: "KPIs for one pickup day",
    description: "Replace the date; pickup_date is YYYY-MM-DD (UTC)",
    database,
    workGroup: workGroup.name,
    queryString: `SELECT ${KPI_COLUMNS.join(", ")} FROM ${database}.${KPI_TABLE} WHERE pickup_date = '2024-05-25'`,
  }).addDependency(workGroup);

  stack.addOutputs({
    MetricsJobName: jobName,
    KpiDatabase: database,
    AthenaWorkGroup: workGroup.name,
    MetricsLocation: metricsUri,
    ScheduleRule: schedule.cdk.rule.ruleName,
  });
  return { job, jobName, crawler, database, workGroup, schedule };
}

/**
 * The log groups Glue writes to for a job and a crawler that run with a security configuration
 * (named after it and the role), created here so they have a retention and go with the stack.
 */
function glueLogGroups(
  stack: Stack,
  securityConfiguration: string,
  jobRole: string,
  crawlerRole: string,
  key: IKey,
): void {
  const glue = LOG_GROUP_PREFIXES.glue;
  appLogGroup(stack, "MetricsJobOutputLogs", `${glue}jobs/${securityConfiguration}-role/${jobRole}/output`, key);
  appLogGroup(stack, "MetricsJobErrorLogs", `${glue}jobs/${securityConfiguration}-role/${jobRole}/error`, key);
  appLogGroup(stack, "KpiCrawlerLogs", `${glue}crawlers-role/${crawlerRole}-${securityConfiguration}`, key);
}
