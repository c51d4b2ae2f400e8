//! Native file dialogs (rfd, GTK on Linux). Async, so the window keeps
//! painting while a dialog is open.

use crate::error::AppResult;

#[tauri::command]
pub async fn pick_folder() -> AppResult<Option<String>> {
    let folder = rfd::AsyncFileDialog::new().pick_folder().await;
    Ok(folder.map(|f| f.path().to_string_lossy().into_owned()))
}

#[tauri::command]
pub async fn pick_save_file(suggested_name: String) -> AppResult<Option<String>> {
    let file = rfd::AsyncFileDialog::new()
        .set_file_name(suggested_name)
        .save_file()
        .await;
    Ok(file.map(|f| f.path().to_string_lossy().into_owned()))
}
