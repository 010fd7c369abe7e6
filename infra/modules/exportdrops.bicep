// Export drops: Event Grid turns every blob created under <container>/exports/ into a message on the export-drops
// Service Bus queue, which the accept_export_drop function reads (shared/event_grid.py) into a PlanExport.
// An Event Grid system topic on the storage account, with a system-assigned identity that is an Azure Service Bus
// Data Sender on that one queue: the namespace disables local auth, so delivery is identity-based
// (learn.microsoft.com/azure/event-grid/deliver-events-using-managed-identity). Session-enabled queues cannot be
// Event Grid handlers (articles/event-grid/handler-service-bus.md): export-drops is not one.
// Not compiled or deployed from the development machine (docs/azure.md, "Not verified here").

@description('Region of the system topic: the storage account\'s.')
param location string

param tags object = {}

@description('Prefix of the system topic\'s name.')
param namePrefix string

@description('The storage account whose blob events are read.')
param storageAccountName string

@description('The container exports are dropped in (BLOB_CONTAINER).')
param blobContainerName string

@description('Blob name prefix of export drops (EXPORT_DROPS_PREFIX): <prefix><source>/<file>.')
param exportDropsPrefix string = 'exports/'

param serviceBusNamespaceName string

@description('The export-drops queue (EXPORT_DROPS_QUEUE).')
param exportDropsQueueName string

@description('How long Event Grid retries a delivery, in minutes. Keep it within the queue\'s duplicate-detection window (PT1H), as Microsoft recommends, so a late retry is still dropped as a duplicate.')
param eventTimeToLiveInMinutes int = 60

@description('Container where Event Grid writes the events it could not deliver within eventTimeToLiveInMinutes.')
param deadLetterContainerName string = 'export-drop-dead-letters'

var serviceBusDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

// An event Event Grid gave up on is kept here (not dropped): the drop it announced can be re-sent by re-uploading.
resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: { publicAccess: 'None' }
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: serviceBusNamespaceName
}

resource exportDrops 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' existing = {
  parent: serviceBus
  name: exportDropsQueueName
}

resource storageEvents 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: '${namePrefix}-storage-events'
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource topicSendsToDrops 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: exportDrops
  name: guid(exportDrops.id, storageEvents.id, serviceBusDataSender)
  properties: {
    principalId: storageEvents.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSender)
  }
}

resource topicWritesDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deadLetters
  name: guid(deadLetters.id, storageEvents.id, storageBlobDataContributor)
  properties: {
    principalId: storageEvents.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

resource dropsSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: storageEvents
  name: 'export-drops'
  dependsOn: [ topicSendsToDrops, topicWritesDeadLetters ]
  properties: {
    // One event per Service Bus message, in the Event Grid schema (eventType, eventTime, data.url/eTag/contentLength).
    eventDeliverySchema: 'EventGridSchema'
    deliveryWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      destination: {
        endpointType: 'ServiceBusQueue'
        properties: { resourceId: exportDrops.id }
      }
    }
    filter: {
      includedEventTypes: [ 'Microsoft.Storage.BlobCreated' ]
      // Chunks and reports share the container under runs/: only drops reach the queue.
      subjectBeginsWith: '/blobServices/default/containers/${blobContainerName}/blobs/${exportDropsPrefix}'
      isSubjectCaseSensitive: true
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetters.name
        }
      }
    }
  }
}

output systemTopicName string = storageEvents.name
output deadLetterContainerName string = deadLetters.name
