// ciam-migrate in Azure: Functions (Flex Consumption, Python 3.12, system-assigned identity for Azure resources,
// a user-assigned "graph" identity that the external tenant's app registrations trust as a federated credential),
// Service Bus queues linking the stages, Storage (chunk/artifact blobs + ledger and JIT vault tables, a lifecycle
// rule deleting exports and run data), Key Vault, Application Insights (local auth off) and diagnostic settings
// into Log Analytics; optionally a VNet with private endpoints (vnetEnabled). Every data-plane connection is
// identity-based and every secret app setting is a Key Vault reference: no keys in app settings (a test reads this
// file against shared/config.py and shared/stages.py). Deploy with `azd up` (see docs/azure.md).
// Not compiled or deployed from the development machine.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('azd environment name; used to derive unique resource names.')
param environmentName string

@description('Region for every resource. Flex Consumption must be available in it.')
param location string = resourceGroup().location

@secure()
@description('base64 of 32 random bytes; seals chunk blobs at rest. Set by the azd preprovision hook. Changing it makes existing chunks unreadable.')
param chunkSealingKey string

@secure()
@description('base64 of 32 random bytes; keys the JIT retry fingerprint identically on every instance (JIT__ATTEMPT_KEY). Set by the azd preprovision hook.')
param jitAttemptKey string

@description('Object id of the deploying principal, granted Key Vault Secrets Officer so they can rotate secrets. Empty to skip.')
param principalId string = ''

@description('What principalId is: a user (azd up from a workstation) or a service principal (a CI pipeline deploying).')
@allowed([ 'User', 'ServicePrincipal', 'Group' ])
param principalType string = 'User'

// ---- the target External ID tenant (docs/azure.md "Connect the external tenant")

@description('Tenant id of the external (External ID) tenant users are migrated into (TENANT_ID, JIT__TENANT_ID).')
param externalTenantId string

@description('Initial domain of the external tenant, e.g. contoso.onmicrosoft.com (TENANT); its first label also names <label>.ciamlogin.com.')
param externalTenantDomain string

@description('Client ids of the app registrations that write users, comma-separated, one Graph quota lane each (APP_IDS). Each trusts the graph identity as a federated credential.')
param graphAppClientIds string

@description('appId of the external tenant\'s b2c-extensions-app (EXTENSIONS_APP_ID): custom attributes and the JIT flag.')
param extensionsAppId string

@description('Accepted audiences of the token Entra sends the password-submit endpoint, comma-separated: the custom extension app\'s client id and/or api:// URI (JIT__AUDIENCES).')
param jitAudiences string = ''

@description('JIT__AUTHORITY; empty: https://<first label of externalTenantDomain>.ciamlogin.com/<externalTenantId>/v2.0')
param jitAuthority string = ''

@description('Key Vault certificate whose private key decrypts encryptedPasswordContext (created by the operator, docs/jit.md); the app reads its newest version.')
param jitDecryptionCertificateName string = 'jit-decryption'

// ---- data retention and networking

@description('Days after their last change that exports (migration/exports/) and run data (migration/runs/: sealed chunks, reports) are deleted. They hold PII. More than the 14-day message TTL, so no queued message outlives its chunk.')
@minValue(15)
param migrationDataRetentionDays int = 15

@description('Private networking: a VNet, private endpoints for Storage, Service Bus (Premium) and Key Vault, public access closed (docs/azure.md).')
param vnetEnabled bool = false

@description('With vnetEnabled: public IPs or CIDR ranges (an operator workstation, a CI runner) still allowed to reach Storage, Service Bus and Key Vault.')
param operatorIpRanges array = []

@description('Service Bus duplicate-detection window. Re-sends inside it are dropped; resubmitting a dead letter with the same id inside it is dropped too.')
param duplicateDetectionWindow string = 'PT1H'

@description('Deliveries before Service Bus dead-letters a message (docs/limits.md: Service Bus triggers have no retry policy).')
param maxDeliveryCount int = 10

@description('Upper bound on Function instances (Flex Consumption).')
param maximumInstanceCount int = 40

@description('E-mail addresses that receive cutover alerts')
param alertEmails array = []

@description('Webhook (Teams/Slack) that receives cutover alerts; empty for none')
@secure()
param alertWebhookUrl string = ''

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var messageTimeToLiveDays = 14 // commonQueueProperties.defaultMessageTimeToLive; migrationDataRetentionDays exceeds it
var publicAccess = vnetEnabled && empty(operatorIpRanges) ? 'Disabled' : 'Enabled'
// 'a, b,,c' -> ['a', 'b', 'c']: list parameters are comma-separated strings, as azd passes environment values.
func csv(text string) array => filter(map(split(text, ','), item => trim(item)), item => !empty(item))
var ciamAuthority = !empty(jitAuthority) ? jitAuthority : 'https://${split(externalTenantDomain, '.')[0]}.ciamlogin.com/${externalTenantId}/v2.0'
var tags = { 'azd-env-name': environmentName }
var blobContainerName = 'migration'
var exportDropsPrefix = 'exports/' // EXPORT_DROPS_PREFIX: drops are exports/<source>/<file>
var deploymentContainerName = 'app-package'
var ledgerTableName = 'ledger'
var quotaTableName = 'quota'
var syncTableName = 'sync'
var monitorTableName = 'monitor'
var lockoutTableName = 'lockouts'
var attemptsTableName = 'jitattempts'
var vaultTableName = 'vault'
// One queue per queue-triggered stage of shared/stages.py, named by its Settings default (a test holds the
// queues, their requiresSession and their app settings below to the stage table).
var queueNames = {
  exportDrops: 'export-drops'
  exportPlans: 'export-plans'
  importChunks: 'import-chunks'
  runEvents: 'run-events'
  groupAssignments: 'group-assignments'
  legacyChanges: 'legacy-changes'
  alerts: 'alerts'
}

// Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
}

// ---------------------------------------------------------------- monitoring

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${token}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true // telemetry is sent with the app's identity (Monitoring Metrics Publisher)
  }
}

// ---------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${token}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // identity only; Azurite keys are for local runs
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicAccess
    networkAcls: vnetEnabled ? {
      defaultAction: 'Deny'
      bypass: 'None'
      ipRules: map(operatorIpRanges, ip => { value: ip, action: 'Allow' })
    } : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

// Exports and run data hold PII (sealed chunks, id maps, rejects): deleted migrationDataRetentionDays after their last
// change, by the service's daily lifecycle run. The ledger (Table) keeps every outcome; download reports before then.
resource migrationDataLifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-exports-and-run-data'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [ 'blockBlob', 'appendBlob' ]
              prefixMatch: [ '${blobContainerName}/${exportDropsPrefix}', '${blobContainerName}/runs/' ]
            }
            actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: migrationDataRetentionDays } } }
          }
        }
      ]
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource migrationContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: blobContainerName
  properties: { publicAccess: 'None' }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource ledgerTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: ledgerTableName
}

// The shared write quota: one token bucket row per app lane and per tenant, drawn in leases by every instance.
resource quotaTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: quotaTableName
}

// The coexistence sync's store (fingerprints, cursors, conflicts, sealed drop records), beside the ledger.
resource syncTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: syncTableName
}

resource monitorTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: monitorTableName
}

// JIT lockout counters, one row per account, shared by every instance (ETag-checked updates).
resource lockoutTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: lockoutTableName
}

// JIT Entra-retry dedupe (claim per correlation id + fingerprint) and the outcome log, shared by every instance.
resource attemptsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: attemptsTableName
}

// The JIT credential vault: legacy password hashes sealed per row (data keys wrapped by vaultKek), shared by
// the import stage and the password-submit endpoint on every instance.
resource vaultTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: vaultTableName
}

// ---------------------------------------------------------------- service bus

// Standard: duplicate detection, sessions, scheduling. Premium only with vnetEnabled: private endpoints need it.
resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: 'sb-${token}'
  location: location
  tags: tags
  sku: vnetEnabled ? { name: 'Premium', tier: 'Premium', capacity: 1 } : { name: 'Standard', tier: 'Standard' }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled' // with vnetEnabled, networkRules below deny all but trusted services and operators
  }
}

// Event Grid (modules/exportdrops.bicep) delivers with its identity as a trusted Microsoft service.
resource serviceBusNetwork 'Microsoft.ServiceBus/namespaces/networkRuleSets@2022-10-01-preview' = if (vnetEnabled) {
  parent: serviceBus
  name: 'default'
  properties: {
    defaultAction: 'Deny'
    publicNetworkAccess: 'Enabled'
    trustedServiceAccessEnabled: true
    ipRules: map(operatorIpRanges, ip => { ipMask: ip, action: 'Allow' })
  }
}

var commonQueueProperties = {
  requiresDuplicateDetection: true // deterministic message ids make re-sends harmless (R11)
  duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
  maxDeliveryCount: maxDeliveryCount
  deadLetteringOnMessageExpiration: true
  lockDuration: 'PT5M'
  defaultMessageTimeToLive: 'P${messageTimeToLiveDays}D'
}

resource exportDrops 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.exportDrops
  properties: commonQueueProperties
}

// accept_export_drop's PlanExports (a drop Event Grid announced on export-drops, see modules/exportdrops.bicep).
resource exportPlans 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.exportPlans
  properties: commonQueueProperties
}

resource importChunks 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.importChunks
  properties: commonQueueProperties
}

resource runEvents 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.runEvents
  properties: commonQueueProperties
}

resource groupAssignments 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.groupAssignments
  properties: commonQueueProperties
}

// Session-enabled: session id = (source, legacyId), so one user's changes apply in order, one at a time.
resource legacyChanges 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.legacyChanges
  properties: union(commonQueueProperties, { requiresSession: true })
}

// dispatch_alert's queue: one AlertRaised per (alert key, window); the stage notifies once however often delivered.
resource alerts 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.alerts
  properties: commonQueueProperties
}

// ---------------------------------------------------------------- key vault

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${token}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: publicAccess
    networkAcls: vnetEnabled ? {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: map(operatorIpRanges, ip => { value: ip })
    } : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

// KEK of the credential vault: wraps each row's data key; the private key never leaves Key Vault (the app has
// Crypto User: wrapKey/unwrapKey). ARM creates it only if missing, so redeploying keeps the version rows use.
resource vaultKek 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: 'jit-vault-kek'
  properties: {
    kty: 'RSA'
    keySize: 2048 // Key Vault serves ~4000 RSA-2048 ops per 10 s, far fewer for 3072/4096: one wrap per import
    keyOps: [ 'wrapKey', 'unwrapKey' ]
    attributes: { enabled: true, exportable: false }
  }
}

resource sealingKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'chunk-sealing-key'
  properties: {
    value: chunkSealingKey
    contentType: 'base64 AES-256 key'
  }
}

resource jitAttemptKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'jit-attempt-key'
  properties: {
    value: jitAttemptKey
    contentType: 'base64 HMAC key'
  }
}

// ---------------------------------------------------------------- graph identity

// The identity the external tenant trusts: each app registration in graphAppClientIds has a federated identity
// credential (issuer = this tenant's login endpoint, subject = this identity's principal id, audience
// api://AzureADTokenExchange) — created in Entra, not here (docs/azure.md). It holds no Azure role: it can only
// be exchanged for those apps' Graph tokens (shared/credentials.py ManagedIdentityAssertion).
resource graphIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-graph-${token}'
  location: location
  tags: tags
}

var graphLanes = map(csv(graphAppClientIds), appId => '${appId}:managed-identity=${graphIdentity.properties.clientId}')

// ---------------------------------------------------------------- network (optional)

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  params: {
    location: location
    tags: tags
    namePrefix: token
    storageAccountId: storage.id
    serviceBusNamespaceId: serviceBus.id
    keyVaultId: vault.id
  }
}

// ---------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${token}'
  location: location
  tags: union(tags, { 'azd-service-name': 'functions' })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned, UserAssigned'
    userAssignedIdentities: { '${graphIdentity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: 'SystemAssigned'
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : null
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: { name: 'python', version: '3.12' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      // Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION: the runtime is set above.
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: '${serviceBus.name}.servicebus.windows.net' }
        { name: 'EXPORT_DROPS_QUEUE', value: exportDrops.name }
        { name: 'EXPORT_PLANS_QUEUE', value: exportPlans.name }
        { name: 'EXPORT_DROPS_PREFIX', value: exportDropsPrefix }
        { name: 'IMPORT_CHUNKS_QUEUE', value: importChunks.name }
        { name: 'RUN_EVENTS_QUEUE', value: runEvents.name }
        { name: 'GROUP_ASSIGNMENTS_QUEUE', value: groupAssignments.name }
        { name: 'LEGACY_CHANGES_QUEUE', value: legacyChanges.name }
        { name: 'SYNC_TABLE', value: syncTable.name }
        { name: 'MONITOR_TABLE', value: monitorTable.name }
        { name: 'JIT__LOCKOUT_TABLE', value: lockoutTable.name }
        { name: 'JIT__ATTEMPTS_TABLE', value: attemptsTable.name }
        { name: 'ALERTS_QUEUE', value: alerts.name }
        // Timer schedules: the host resolves %SETTING% from app settings itself (no default), so each is set here.
        { name: 'SYNC_SCHEDULE', value: '0 */1 * * * *' }
        { name: 'SIGNIN_INGEST_SCHEDULE', value: '0 */5 * * * *' }
        { name: 'MAX_DELIVERY_COUNT', value: string(maxDeliveryCount) }
        { name: 'STORAGE_ACCOUNT_URL', value: storage.properties.primaryEndpoints.blob }
        { name: 'TABLES_ACCOUNT_URL', value: storage.properties.primaryEndpoints.table }
        { name: 'BLOB_CONTAINER', value: migrationContainer.name }
        { name: 'LEDGER_TABLE', value: ledgerTable.name }
        { name: 'VAULT_TABLE', value: vaultTable.name }
        { name: 'QUOTA_TABLE', value: quotaTable.name }
        // Versioned: the wrapper unwraps with this exact key version (rotation needs a re-wrap of the rows).
        { name: 'KEY_VAULT_KEY_ID', value: vaultKek.properties.keyUriWithVersion }
        { name: 'CHUNK_SEALING_KEY', value: '@Microsoft.KeyVault(SecretUri=${sealingKeySecret.properties.secretUri})' }
        // Instance scratch (jit.db's per-instance caches, key files never used in Azure): the package is read-only.
        { name: 'STATE_DIR', value: '/tmp/ciam-migrate' }
        // The external tenant, and one Graph lane per app registration, each a federated credential of graphIdentity.
        { name: 'TENANT', value: externalTenantDomain }
        { name: 'TENANT_ID', value: externalTenantId }
        { name: 'APP_IDS', value: string(graphLanes) }
        { name: 'EXTENSIONS_APP_ID', value: extensionsAppId }
        // The password-submit endpoint (docs/jit.md)
        { name: 'JIT__TENANT_ID', value: externalTenantId }
        { name: 'JIT__AUTHORITY', value: ciamAuthority }
        { name: 'JIT__AUDIENCES', value: string(csv(jitAudiences)) }
        { name: 'JIT__DECRYPTION_KEY', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${jitDecryptionCertificateName})' }
        { name: 'JIT__ATTEMPT_KEY', value: '@Microsoft.KeyVault(SecretUri=${jitAttemptKeySecret.properties.secretUri})' }
      ]
    }
  }
}

// ---------------------------------------------------------------- role assignments (the app's identity)

var appPrincipal = functionApp.identity.principalId

resource sbSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: serviceBus
  name: guid(serviceBus.id, functionApp.id, roles.serviceBusDataSender)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
  }
}

resource sbReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: serviceBus
  name: guid(serviceBus.id, functionApp.id, roles.serviceBusDataReceiver)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
  }
}

// Blob Data *Owner*, not Contributor: the Functions host's identity-based AzureWebJobsStorage and the Flex
// deployment container need it; it includes everything Contributor grants for the `migration` container.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, functionApp.id, roles.storageBlobDataOwner)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, functionApp.id, roles.storageTableDataContributor)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// The host keeps timer-trigger and scale bookkeeping in queues of AzureWebJobsStorage.
resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, functionApp.id, roles.storageQueueDataContributor)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource kvCrypto 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, functionApp.id, roles.keyVaultCryptoUser)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
  }
}

resource kvSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, functionApp.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, functionApp.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: appPrincipal
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  scope: vault
  name: guid(vault.id, principalId, roles.keyVaultSecretsOfficer)
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}

// The deployer drops exports and follows runs: `ciam-migrate submit --azure` / `status --azure` (docs/submit.md).
resource deployerBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  scope: storage
  name: guid(storage.id, principalId, roles.storageBlobDataContributor)
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource deployerTableReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  scope: storage
  name: guid(storage.id, principalId, roles.storageTableDataReader)
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataReader)
  }
}

// Event Grid: BlobCreated under migration/exports/ → export-drops (the accept_export_drop stage)
module exportDropEvents 'modules/exportdrops.bicep' = {
  name: 'exportdrops'
  params: {
    location: location
    tags: tags
    namePrefix: 'evgt-${token}'
    storageAccountName: storage.name
    blobContainerName: migrationContainer.name
    exportDropsPrefix: exportDropsPrefix
    serviceBusNamespaceName: serviceBus.name
    exportDropsQueueName: exportDrops.name
  }
}

// ---------------------------------------------------------------- diagnostic settings (into the Log Analytics workspace)

resource functionAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: functionApp
  name: 'to-log-analytics'
  properties: {
    workspaceId: logs.id
    logs: [ { category: 'FunctionAppLogs', enabled: true } ]
    metrics: [ { category: 'AllMetrics', enabled: true } ]
  }
}

resource serviceBusDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: serviceBus
  name: 'to-log-analytics'
  properties: {
    workspaceId: logs.id
    logs: [ { categoryGroup: 'allLogs', enabled: true } ] // operational logs: dead letters, throttling, auth failures
    metrics: [ { category: 'AllMetrics', enabled: true } ]
  }
}

// Who unwrapped the KEK or read a secret, and when: the vault's audit trail.
resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'to-log-analytics'
  properties: {
    workspaceId: logs.id
    logs: [ { categoryGroup: 'audit', enabled: true } ]
    metrics: [ { category: 'AllMetrics', enabled: true } ]
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: blobService
  name: 'to-log-analytics'
  properties: {
    workspaceId: logs.id
    logs: [ { categoryGroup: 'allLogs', enabled: true } ] // StorageRead/Write/Delete: exports and chunks
    metrics: [ { category: 'Transaction', enabled: true } ]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: tableService
  name: 'to-log-analytics'
  properties: {
    workspaceId: logs.id
    logs: [ { categoryGroup: 'allLogs', enabled: true } ] // ledger, vault, lockouts
    metrics: [ { category: 'Transaction', enabled: true } ]
  }
}

// Cutover alerts, action group and workbook (alerts/*.kql + alerts/rules.json)
module monitoring 'monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    appInsightsId: appInsights.id
    namePrefix: 'ciam-${token}'
    alertEmails: alertEmails
    alertWebhookUrl: alertWebhookUrl
    tags: tags
  }
}

// ---------------------------------------------------------------- outputs (azd stores them in .azure/<env>/.env)

output AZURE_LOCATION string = location
output AZURE_FUNCTION_APP_NAME string = functionApp.name
output SERVICE_BUS_NAMESPACE string = '${serviceBus.name}.servicebus.windows.net'
output STORAGE_ACCOUNT_URL string = storage.properties.primaryEndpoints.blob
output TABLES_ACCOUNT_URL string = storage.properties.primaryEndpoints.table
output BLOB_CONTAINER string = migrationContainer.name
output LEDGER_TABLE string = ledgerTable.name
output VAULT_TABLE string = vaultTable.name
output KEY_VAULT_KEY_ID string = vaultKek.properties.keyUriWithVersion
output KEY_VAULT_URL string = vault.properties.vaultUri
// The federated credential each app registration in graphAppClientIds needs (docs/azure.md "Connect the external tenant")
output GRAPH_IDENTITY_CLIENT_ID string = graphIdentity.properties.clientId
output FEDERATION_ISSUER string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
output FEDERATION_SUBJECT string = graphIdentity.properties.principalId
output FEDERATION_AUDIENCE string = 'api://AzureADTokenExchange'
output EGRESS_IP_ADDRESS string = vnetEnabled ? network.outputs.egressIpAddress : 
