//! Documents for AMIs, account settings, snapshot permissions and launch templates.

use aws_sdk_ec2::types::{
    HttpTokensState, LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataOptions,
    LaunchTemplateInstanceNetworkInterfaceSpecification, PermissionGroup,
    ResponseLaunchTemplateData,
};
use serde_json::json;

use super::*;

#[test]
fn snapshot_documents_carry_their_volume_permissions_when_read() {
    let snap = Snapshot::builder().snapshot_id("snap-1").build();
    let permissions = vec![
        CreateVolumePermission::builder()
            .group(PermissionGroup::All)
            .build(),
        CreateVolumePermission::builder()
            .user_id("111122223333")
            .build(),
    ];
    let doc = with_permissions(snapshot_doc(&snap), Some(&permissions));
    assert_eq!(
        doc["CreateVolumePermissions"],
        json!([{"Group": "all"}, {"UserId": "111122223333"}])
    );
    // Not read (not wanted, or the call failed): no field at all.
    let doc = with_permissions(snapshot_doc(&snap), None);
    assert!(doc.get("CreateVolumePermissions").is_none(), "{doc}");
}

#[test]
fn metadata_defaults_keep_no_preference_as_absent_fields() {
    let level = InstanceMetadataDefaultsResponse::builder()
        .http_tokens(HttpTokensState::Required)
        .build();
    assert_eq!(
        metadata_defaults_doc(Some(&level)),
        json!({"AccountLevel": {"HttpTokens": "required"}})
    );
    assert_eq!(metadata_defaults_doc(None), json!({}));
}

#[test]
fn launch_template_documents_never_carry_user_data() {
    let template = LaunchTemplate::builder()
        .launch_template_id("lt-1")
        .launch_template_name("web")
        .build();
    let versions = vec![
        LaunchTemplateVersion::builder()
            .version_number(1)
            .default_version(true)
            .launch_template_data(
                ResponseLaunchTemplateData::builder()
                    .user_data("REJfUEFTU1dPUkQ9aHVudGVyMg==")
                    .network_interfaces(
                        LaunchTemplateInstanceNetworkInterfaceSpecification::builder()
                            .associate_public_ip_address(true)
                            .build(),
                    )
                    .build(),
            )
            .build(),
        LaunchTemplateVersion::builder()
            .version_number(2)
            .launch_template_data(
                ResponseLaunchTemplateData::builder()
                    .metadata_options(
                        LaunchTemplateInstanceMetadataOptions::builder()
                            .http_tokens(LaunchTemplateHttpTokensState::Required)
                            .build(),
                    )
                    .build(),
            )
            .build(),
    ];
    let doc = launch_template_doc(&template, &versions);
    assert!(!doc.to_string().contains("REJf"), "{doc}");
    assert_eq!(
        doc["Versions"][0]["LaunchTemplateData"]["HasUserData"],
        true
    );
    assert_eq!(
        doc["Versions"][0]["LaunchTemplateData"]["NetworkInterfaces"][0]["AssociatePublicIpAddress"],
        true
    );
    assert_eq!(
        doc["Versions"][1]["LaunchTemplateData"]["MetadataOptions"],
        json!({"HttpTokens": "required"})
    );
    // The user data goes to its own, agent-only kind.
    assert_eq!(
        launch_template_user_data_doc(&versions),
        json!({"Versions": [
            {"VersionNumber": 1, "UserData": "REJfUEFTU1dPUkQ9aHVudGVyMg=="},
            {"VersionNumber": 2}
        ]})
    );
}

#[test]
fn image_documents() {
    let image = Image::builder()
        .image_id("ami-1")
        .name("golden")
        .owner_id("123456789012")
        .public(true)
        .deprecation_time("2024-01-01T00:00:00.000Z")
        .build();
    let doc = image_doc(&image);
    assert_eq!(doc["ImageId"], "ami-1");
    assert_eq!(doc["Public"], true);
    assert_eq!(doc["DeprecationTime"], "2024-01-01T00:00:00.000Z");
}
