// Cutover monitoring: one scheduled query rule per alerts/<name>.kql (thresholds, windows and severities from
// alerts/rules.json, the same file the local evaluator reads), an action group (email and/or webhook), and the
// migration workbook. Queries run over App Insights customMetrics, where the Functions app's OpenTelemetry
// metrics land (azure-monitor-opentelemetry).

@description('Location of the alert rules and the workbook')
param location string

@description('Resource id of the Application Insights component that receives the app metrics')
param appInsightsId string

@description('Prefix for resource names')
param namePrefix string

@description('E-mail receivers of alert notifications (may be empty)')
param alertEmails array = []

@description('Webhook receiver (Teams workflow / Slack incoming webhook / dispatch endpoint); empty for none')
@secure()
param alertWebhookUrl string = ''

@description('Failure-rate threshold for cut-over apps: 1.5 x the measured pre-cutover failure rate (a decimal string)')
param failureRateThreshold string = '0.15'

param tags object = {}

var rules = loadJsonContent('../alerts/rules.json').rules
var queries = {
  signin_failure_rate_above_baseline: loadTextContent('../alerts/signin_failure_rate_above_baseline.kql')
  flagged_invalid_password_share: loadTextContent('../alerts/flagged_invalid_password_share.kql')
  jit_callout_failures: loadTextContent('../alerts/jit_callout_failures.kql')
  jit_endpoint_errors: loadTextContent('../alerts/jit_endpoint_errors.kql')
  jit_latency_near_budget: loadTextContent('../alerts/jit_latency_near_budget.kql')
  lockout_spike: loadTextContent('../alerts/lockout_spike.kql')
  sync_cursor_age: loadTextContent('../alerts/sync_cursor_age.kql')
  timer_missed: loadTextContent('../alerts/timer_missed.kql')
  graph_throttling_sustained: loadTextContent('../alerts/graph_throttling_sustained.kql')
  dead_letters: loadTextContent('../alerts/dead_letters.kql')
  no_signin_logs: loadTextContent('../alerts/no_signin_logs.kql')
}
var thresholdOverrides = {
  signin_failure_rate_above_baseline: json(failureRateThreshold)
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-cutover-alerts'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'ciamcutover'
    enabled: true
    emailReceivers: [for (address, i) in alertEmails: {
      name: 'email-${i}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
    webhookReceivers: empty(alertWebhookUrl) ? [] : [
      {
        name: 'webhook'
        serviceUri: alertWebhookUrl
        useCommonAlertSchema: true
      }
    ]
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: '${namePrefix}-${replace(rule.name, '_', '-')}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'ciam-migrate: ${rule.name}'
    description: rule.summary
    severity: rule.severity
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT${rule.frequencyMinutes}M'
    windowSize: 'PT${rule.windowMinutes}M'
    criteria: {
      allOf: [
        {
          query: queries[rule.name]
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'value'
          operator: 'GreaterThan'
          threshold: contains(thresholdOverrides, rule.name) ? thresholdOverrides[rule.name] : json(string(rule.threshold))
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [actionGroup.id]
    }
  }
}]

// The migration view: sign-in outcomes by code and wave, JIT decisions and latency vs the 2 s budget,
// callout failures, % of active users migrated and the long tail of flagged users.
var workbookContent = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      content: { json: '## ciam-migrate cutover\nSign-ins, JIT decisions and the long tail of users still to migrate.' }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: '% of users who signed in since cutover that are migrated'
        query: 'customMetrics | where name in ("migration.active_users", "migration.migrated_active_users") | summarize v = max(valueMax) by name, bin(timestamp, 15m) | evaluate pivot(name, max(v)) | extend pct = 100.0 * todouble(column_ifexists("migration.migrated_active_users", 0.0)) / todouble(column_ifexists("migration.active_users", 1.0)) | project timestamp, pct | render timechart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'Users still flagged (long tail)'
        query: 'customMetrics | where name == "migration.flagged_remaining" | summarize remaining = min(valueMin) by bin(timestamp, 15m) | render timechart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'Sign-in outcomes by code and wave'
        query: 'customMetrics | where name == "signin.outcomes" | extend code = tostring(customDimensions.code), wave = tostring(customDimensions.wave) | summarize n = sum(valueSum) by code, wave, bin(timestamp, 15m) | render columnchart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'JIT decisions, and latency against the 2,000 ms budget'
        query: 'customMetrics | where name in ("jit.requests", "jit.latency_ms") | extend action = tostring(customDimensions.action) | summarize calls = sumif(valueSum, name == "jit.requests"), mean_ms = sumif(valueSum, name == "jit.latency_ms") / sumif(valueCount, name == "jit.latency_ms") by action, bin(timestamp, 5m) | render timechart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, namePrefix, 'ciam-migrate-cutover')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'ciam-migrate cutover'
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: string(workbookContent)
  }
}

output actionGroupId string = actionGroup.id
output workbookId string = workbook.id
