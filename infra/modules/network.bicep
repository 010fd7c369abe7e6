// Optional private networking (main.bicep's vnetEnabled), after Azure's azd Functions samples: a VNet with a subnet
// delegated to Flex Consumption (Microsoft.App/environments) for the app's outbound traffic and a subnet for private
// endpoints; one private endpoint + private DNS zone per data-plane endpoint the app uses (Storage blob, table and
// queue, Service Bus, Key Vault). Outbound to the internet (Microsoft Graph, legacy change feeds) leaves through
// a NAT gateway with one static public IP: new subnets have no default outbound access, and a fixed address is
// what a legacy system's allow-list needs. Inbound is untouched: Entra calls the password-submit endpoint from
// the internet. Not compiled or deployed from the development machine (docs/azure.md, "Not verified here").

@description('Region of the network resources')
param location string

param tags object = {}

@description('Prefix of resource names')
param namePrefix string

@description('Address space of the VNet; the two /24 subnets below are carved from its first /16')
param addressPrefix string = '10.40.0.0/16'

@description('Storage account whose blob, table and queue endpoints get private endpoints')
param storageAccountId string

@description('Service Bus namespace (Premium: private endpoints need it)')
param serviceBusNamespaceId string

@description('Key Vault holding the KEK and the app\'s secrets')
param keyVaultId string

var octets = split(split(addressPrefix, '/')[0], '.')
var appSubnetPrefix = '${octets[0]}.${octets[1]}.2.0/24'
var endpointSubnetPrefix = '${octets[0]}.${octets[1]}.1.0/24'

// groupIds and zone names: learn.microsoft.com/azure/private-link/private-endpoint-dns
var endpoints = [
  { name: 'blob', target: storageAccountId, group: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}' }
  { name: 'table', target: storageAccountId, group: 'table', zone: 'privatelink.table.${environment().suffixes.storage}' }
  { name: 'queue', target: storageAccountId, group: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}' }
  { name: 'servicebus', target: serviceBusNamespaceId, group: 'namespace', zone: 'privatelink.servicebus.windows.net' }
  { name: 'vault', target: keyVaultId, group: 'vault', zone: 'privatelink.vaultcore.azure.net' }
]

resource egressIp 'Microsoft.Network/publicIPAddresses@2023-11-01' = {
  name: 'pip-${namePrefix}-egress'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: { publicIPAllocationMethod: 'Static', publicIPAddressVersion: 'IPv4' }
}

resource nat 'Microsoft.Network/natGateways@2023-11-01' = {
  name: 'ng-${namePrefix}'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    publicIpAddresses: [ { id: egressIp.id } ]
    idleTimeoutInMinutes: 4
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: 'vnet-${namePrefix}'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [ addressPrefix ] }
    subnets: [
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
          defaultOutboundAccess: false
        }
      }
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [ { name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } } ]
          natGateway: { id: nat.id }
          defaultOutboundAccess: false
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for e in endpoints: {
  name: e.zone
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (e, i) in endpoints: {
  parent: zones[i]
  name: 'link-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnet.id }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [for e in endpoints: {
  name: 'pe-${namePrefix}-${e.name}'
  location: location
  tags: tags
  properties: {
    subnet: { id: '${vnet.id}/subnets/private-endpoints' }
    privateLinkServiceConnections: [
      {
        name: e.name
        properties: { privateLinkServiceId: e.target, groupIds: [ e.group ] }
      }
    ]
  }
}]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [for (e, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [ { name: e.name, properties: { privateDnsZoneId: zones[i].id } } ]
  }
}]

output appSubnetId string = '${vnet.id}/subnets/app'
output egressIpAddress string = egressIp.properties.ipAddress
