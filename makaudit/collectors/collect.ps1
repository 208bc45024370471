# makaudit collection script: prints the endpoint document (format makaudit-endpoint,
# version 1) as one JSON text on standard output. Runs on Windows PowerShell 5.1 and
# PowerShell 7. Reads licensing data only and needs no elevation.
#
# Shipped minified: comment lines, indentation and blank lines are removed before it is
# sent. Keep every statement that spans lines open with '{' or '(' at the end of a line,
# and write '} catch {' and '} else {' on one line: over stdin PowerShell runs each
# complete top-level statement as soon as it reads it. Use ASCII only.
#
# NOTE: the tests run this text against the emulated fleet, which recognises it but
# does not execute PowerShell; it has not yet been run on Windows PowerShell 5.1 or 7.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$slmgr = $true
try { [Console]::OutputEncoding = New-Object Text.UTF8Encoding $false } catch {}

$errs = New-Object Collections.ArrayList

# Runs one part of the collection; a failure becomes an entry of "errors" and the next part runs.
function Part($src, [scriptblock]$block) {
    try { & $block } catch { [void]$errs.Add([ordered]@{ source = $src; message = "$_" }) }
}

function Wmi($q) {
    try { Get-CimInstance -Query $q } catch { Get-WmiObject -Query $q }
}

# Dates become ISO 8601 UTC; WMI's 1601-01-01 means no date.
function Conv($v) {
    if ($v -is [string] -and $v -match '^\d{14}\.\d{6}[+-]\d{3}$') {
        $v = [Management.ManagementDateTimeConverter]::ToDateTime($v)
    }
    if ($v -is [datetime]) {
        if ($v.Year -le 1601) { return $null }
        return $v.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [cultureinfo]::InvariantCulture)
    }
    return $v
}

function Pick($o, $names) {
    $h = [ordered]@{}
    foreach ($n in $names) { $h[$n] = Conv $o.$n }
    return $h
}

$prodProps = @(
    'ID', 'ApplicationID', 'Name', 'Description', 'ProductKeyChannel', 'PartialProductKey',
    'ProductKeyID', 'LicenseStatus', 'LicenseStatusReason', 'GracePeriodRemaining', 'EvaluationEndDate',
    'LicenseFamily', 'KeyManagementServiceMachine', 'KeyManagementServicePort',
    'DiscoveredKeyManagementServiceMachineName', 'VLActivationTypeEnabled', 'RemainingAppReArmCount',
    'RemainingSkuReArmCount'
)

# An explicit list: OA3xOriginalProductKey is a full product key and must never be copied.
# The query reads every property because older builds lack some of the listed ones.
$svcProps = @(
    'Version', 'ClientMachineID', 'KeyManagementServiceMachine', 'KeyManagementServicePort',
    'DiscoveredKeyManagementServiceMachineName', 'IsKeyManagementServiceMachine', 'VLActivationInterval',
    'VLRenewalInterval', 'RemainingWindowsReArmCount', 'OA3xOriginalProductKeyDescription'
)

$pc = [ordered]@{
    name = $env:COMPUTERNAME; dns_host_name = $null; domain = $null; os_caption = $null
    os_version = $null; uuid = $null; ui_culture = $null
}
Part 'computer' {
    $cs = Wmi 'SELECT DNSHostName,Domain FROM Win32_ComputerSystem'
    $pc.dns_host_name = $cs.DNSHostName; $pc.domain = $cs.Domain
}
Part 'os' {
    $os = Wmi 'SELECT Caption,Version FROM Win32_OperatingSystem'
    $pc.os_caption = $os.Caption; $pc.os_version = $os.Version
}
Part 'uuid' { $pc.uuid = (Wmi 'SELECT UUID FROM Win32_ComputerSystemProduct').UUID }
Part 'ui_culture' { $pc.ui_culture = (Get-UICulture).Name }

$service = Part 'service' { Pick (Wmi 'SELECT * FROM SoftwareLicensingService') $svcProps }

$products = @(Part 'products' {
    foreach ($p in Wmi 'SELECT * FROM SoftwareLicensingProduct WHERE PartialProductKey IS NOT NULL') { Pick $p $prodProps }
})

# OfficeSoftwareProtectionProduct exists only where Office uses OSPP; elsewhere the list stays empty.
$ospp = @(Part 'ospp' {
    if (Get-CimClass OfficeSoftwareProtectionProduct -EA Ignore) {
        foreach ($p in Wmi 'SELECT * FROM OfficeSoftwareProtectionProduct WHERE PartialProductKey IS NOT NULL') { Pick $p $prodProps }
    }
})

# cscript with //nologo: without it a banner comes first, and under wscript slmgr opens a dialog.
$dlv = $null
if ($slmgr) {
    $dlv = Part 'slmgr' {
        $text = & cscript.exe //nologo "$env:SystemRoot\System32\slmgr.vbs" /dlv all | Out-String
        if ($LASTEXITCODE) { [void]$errs.Add([ordered]@{ source = 'slmgr'; message = "cscript exited with code $LASTEXITCODE" }) }
        $text
    }
}

$doc = [ordered]@{
    format = 'makaudit-endpoint'; version = 1; collected_at = (Conv ([datetime]::UtcNow)); computer = $pc
    service = $service; products = @($products); ospp_products = @($ospp); slmgr_dlv = $dlv; errors = @($errs)
}
ConvertTo-Json -InputObject $doc -Depth 6 -Compress
